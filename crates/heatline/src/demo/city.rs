//! The demo's city: three districts with their suppliers, stations and buildings, and the
//! homes that call.

/// The districts: id, name, the street of their buildings.
const DISTRICTS: [(&str, &str, &str); 3] = [
    ("nangang", "南岗区", "学府路"),
    ("daoli", "道里区", "中央大街"),
    ("xiangfang", "香坊区", "红旗大街"),
];
/// The suppliers: id, name, the district each serves.
pub(super) const SUPPLIERS: [(&str, &str, &str); 3] = [
    ("harbin-heat", "哈尔滨热力集团", "nangang"),
    ("songbei-thermal", "松北热电公司", "daoli"),
    ("city-energy", "城市能源集团", "xiangfang"),
];

/// The home of the demo's `n`-th call: its district's index, its building's id and its
/// address. The first calls of the first district come from one building (an incident).
pub(super) fn home(n: usize) -> (usize, String, String) {
    let (d, (district, name, street)) = (n % 3, DISTRICTS[n % 3]);
    let (building, flat) = if n < 36 && d == 0 {
        (11, 101 + n)
    } else {
        (
            (n / 3 % 20 + 1) * 10 + n / 60 % 5 + 1,
            101 + n / 300 * 100 + n % 7,
        )
    };
    (
        d,
        format!("{}-{building}", &district[..2].to_uppercase()),
        format!("{name}{street}{building}号{}单元{flat}", flat % 3 + 1),
    )
}

/// The fee basis of every home that calls (keyed by address, as the calls are): 60 to 119
/// m² at 23.20 yuan a m² for the season.
pub(super) fn households(complaints: usize) -> String {
    let mut file = String::from("address,building_id,heated_area_m2,price_yuan_per_m2\n");
    let mut seen = std::collections::HashSet::new();
    for n in 0..complaints {
        let (_, building, place) = home(n);
        if seen.insert(place.clone()) {
            file.push_str(&format!("{place},{building},{},23.20\n", 60 + n * 7 % 60));
        }
    }
    file
}

pub(super) fn registries() -> (String, String) {
    let mut buildings = String::from(
        "building_id,district,station,supplier_id,address,account_prefix,heated_area_m2\n",
    );
    for (d, (district, name, street)) in DISTRICTS.iter().enumerate() {
        let supplier = SUPPLIERS[d].0;
        for station in 1..=20 {
            for building in 1..=5 {
                let number = station * 10 + building;
                buildings.push_str(&format!(
                    "{}-{number},{district},{}-S{station},{supplier},{name}{street}{number}号,{}{number},{}\n",
                    &district[..2].to_uppercase(),
                    &district[..2].to_uppercase(),
                    &district[..2].to_uppercase(),
                    4000 + (number * 37) % 5000,
                ));
            }
        }
    }
    let mut suppliers = String::from("supplier_id,name,districts,heated_area_m2,contact\n");
    for (n, (id, name, district)) in SUPPLIERS.iter().enumerate() {
        suppliers.push_str(&format!(
            "{id},{name},{district},{},0451-8{n}00-0000\n",
            1_800_000 + n * 700_000
        ));
    }
    (buildings, suppliers)
}
