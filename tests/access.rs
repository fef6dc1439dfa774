//! Every operation of the served `/openapi.json`, called by anonymous and by one account of each
//! role, on the side that owns the data and on the other side (a stranger resident, the other
//! supplier's admin and crew, the other district's dispatcher), with the ids of the owning side.
//! What each may get comes from the access policy (`heatline policy`): a caller the policy does
//! not admit gets 401 or 403 and nothing else, the other side never gets a 2xx on the owning
//! side's resources, and no list shows them a row of the owning side.

mod support;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use support::{Server, data_dir, login, registries_and_admin, season_now, staff};
use testkit::api::{Api, eventually};
use testkit::fakes::FakeWechat;

const OWN_ADDRESS: &str = "南岗区学府路100号1栋2单元301";
const OWN_PHONE: &str = "13800138000";

/// A caller of the matrix: a name, a token (none for anonymous), its role as the policy names
/// it, and whether it is on the side that owns the seeded complaint, ticket and crew.
struct Caller {
    name: &'static str,
    token: Option<String>,
    role: Option<&'static str>,
    owner_side: bool,
}

async fn resident(api: &Api, wechat: &FakeWechat, n: u32) -> String {
    let code = format!("wx-code-{n}");
    wechat.code(&code, &format!("openid-{n}"));
    let reply = api
        .send(
            reqwest::Method::POST,
            "/api/v1/auth/wechat",
            None,
            Some(serde_json::to_vec(&json!({ "code": code })).unwrap().into()),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["access_token"].as_str().unwrap().to_owned()
}

/// Who the policy admits to each operation: `heatline policy`'s table, read back.
fn policy(database_url: &str) -> BTreeMap<String, Vec<String>> {
    let table = support::heatline(database_url, &["policy"]);
    table
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            let operation = cells.first()?.strip_prefix("| `")?.strip_suffix('`')?;
            let who = cells.get(1)?.trim_end_matches(" |");
            let roles = who
                .split(", ")
                .map(|grant| grant.split(" (").next().unwrap_or_default().to_owned())
                .collect();
            Some((operation.to_owned(), roles))
        })
        .collect()
}

/// Whether a reply is a list (an array, or a page of `items`), or CSV.
fn is_list(body: &Value) -> bool {
    body.is_array() || body["items"].is_array() || body.is_null()
}

/// A served Heatline with two districts and two suppliers, an owning side (a resident's
/// complaint in Nangang with a photo, heated by harbin-heat, signed and assigned to a
/// harbin-heat crew) and one account of every role on each side.
struct World {
    db: testkit::TestDb,
    _server: Server,
    api: Api,
    _wechat: FakeWechat,
    callers: Vec<Caller>,
    complaint_id: String,
    own_crew_id: String,
    photo_id: String,
}

impl World {
    async fn new() -> World {
        let db = testkit::TestDb::new().await;
        let dir = data_dir("access");
        registries_and_admin(
            db.url(),
            &dir,
            "building_id,district,station,supplier_id,address,account_prefix,heated_area_m2\n\
             NG-0101,nangang,NG-S01,harbin-heat,南岗区学府路100号1栋,NG0101,5200\n\
             DL-0101,daoli,DL-S01,north-heat,道里区中央大街10号1栋,DL0101,4100\n",
            "supplier_id,name,districts,heated_area_m2,contact\n\
             harbin-heat,Harbin Heat Co.,nangang,2500000,0451-8888-0000\n\
             north-heat,North Heat Co.,daoli,1800000,0451-7777-0000\n",
            "a long first password",
        );
        let wechat = FakeWechat::start();
        let server = Server::start_with(
            Some(db.url()),
            &dir,
            &[],
            &[
                ("HEATLINE_WECHAT_BASE_URL", wechat.base_url()),
                ("HEATLINE_WECHAT_APPID", testkit::fakes::WECHAT_APPID),
                ("HEATLINE_WECHAT_SECRET", testkit::fakes::WECHAT_SECRET),
                ("HEATLINE_OPEN311_KEYS", "civic-app:open311-civic-app-key"),
                ("HEATLINE_HOTLINE_SECRET", "shared-with-12345"),
                ("HEATLINE_SENSOR_SECRET", "shared-with-the-sensor-platform"),
            ],
        );
        let api = Api::new(server.base.clone());
        eventually("the server is ready", || async {
            server.ready().await.0 == 200
        })
        .await;

        // The owning side: a resident's complaint in Nangang, heated by harbin-heat, with a photo
        // and a crew of harbin-heat; and one account of every role on each side.
        let admin = login(&api.http, &api.base, "city.admin", "a long first password").await;
        let owner = resident(&api, &wechat, 1).await;
        let stranger = resident(&api, &wechat, 2).await;
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&[0; 32]);
        let photo = api
            .send(
                reqwest::Method::POST,
                "/api/v1/photos",
                Some(&owner),
                Some(png.into()),
                &[("content-type", "image/png")],
            )
            .await;
        assert_eq!(photo.status, 201, "{}", photo.body);
        let photo_id = photo.body["photo_id"].as_str().unwrap().to_owned();
        let filed = api
            .post(
                "/api/v1/complaints",
                &owner,
                &json!({
                    "category": "low_temperature", "address": OWN_ADDRESS, "room_temperature": 15.5,
                    "description": "the bedroom radiator is cold", "contact_phone": OWN_PHONE,
                    "photos": [photo_id],
                }),
            )
            .await;
        assert_eq!(filed.status, 201, "{}", filed.body);
        let complaint_id = filed.body["complaint_id"].as_str().unwrap().to_owned();
        let own_supplier = staff(
            &api,
            &admin,
            json!({"username": "harbin.admin", "password": "keep them warm", "role": "supplier_admin", "supplier": "harbin-heat"}),
        )
        .await;
        let other_supplier = staff(
            &api,
            &admin,
            json!({"username": "north.admin", "password": "keep them warm", "role": "supplier_admin", "supplier": "north-heat"}),
        )
        .await;
        let crew_of = |supplier: &'static str, token: String| {
            let api = &api;
            async move {
                let crew = api
                    .post(
                        "/api/v1/crews",
                        &token,
                        &json!({"name": format!("{supplier} crew")}),
                    )
                    .await;
                assert_eq!(crew.status, 201, "{}", crew.body);
                crew.body["crew_id"].as_str().unwrap().to_owned()
            }
        };
        let own_crew_id = crew_of("harbin-heat", own_supplier.clone()).await;
        let other_crew_id = crew_of("north-heat", other_supplier.clone()).await;
        let own_crew = staff(
            &api,
            &admin,
            json!({"username": "harbin.fitter", "password": "bleed the radiators", "role": "crew", "supplier": "harbin-heat", "crew": own_crew_id}),
        )
        .await;
        let other_crew = staff(
            &api,
            &admin,
            json!({"username": "north.fitter", "password": "bleed the radiators", "role": "crew", "supplier": "north-heat", "crew": other_crew_id}),
        )
        .await;
        let own_dispatcher = staff(
            &api,
            &admin,
            json!({"username": "nangang.dispatch", "password": "winter is coming", "role": "dispatcher", "district": "nangang"}),
        )
        .await;
        let other_dispatcher = staff(
            &api,
            &admin,
            json!({"username": "daoli.dispatch", "password": "winter is coming", "role": "dispatcher", "district": "daoli"}),
        )
        .await;
        let operator = staff(
            &api,
            &admin,
            json!({"username": "wang.hotline", "password": "answer every call", "role": "operator"}),
        )
        .await;
        let regulator = staff(
            &api,
            &admin,
            json!({"username": "zhao.regulator", "password": "every point counts", "role": "regulator"}),
        )
        .await;
        let ticket_path = format!("/api/v1/tickets/{complaint_id}");
        eventually("dispatch opened the ticket", || async {
            api.get(&ticket_path, &own_dispatcher).await.status == 200
        })
        .await;
        let signed = api
            .post(&format!("{ticket_path}/sign"), &own_supplier, &json!({}))
            .await;
        assert_eq!(signed.status, 200, "{}", signed.body);
        let assigned = api
            .post(
                &format!("{ticket_path}/assign"),
                &own_supplier,
                &json!({"crew_id": own_crew_id}),
            )
            .await;
        assert_eq!(assigned.status, 200, "{}", assigned.body);

        let callers = [
            ("anonymous", None, None, true),
            ("owning resident", Some(owner), Some("resident"), true),
            ("stranger resident", Some(stranger), Some("resident"), false),
            ("operator", Some(operator), Some("operator"), true),
            (
                "own dispatcher",
                Some(own_dispatcher),
                Some("dispatcher"),
                true,
            ),
            (
                "other dispatcher",
                Some(other_dispatcher),
                Some("dispatcher"),
                false,
            ),
            ("own crew", Some(own_crew), Some("crew"), true),
            ("other crew", Some(other_crew), Some("crew"), false),
            (
                "own supplier",
                Some(own_supplier),
                Some("supplier_admin"),
                true,
            ),
            (
                "other supplier",
                Some(other_supplier),
                Some("supplier_admin"),
                false,
            ),
            ("regulator", Some(regulator), Some("regulator"), true),
            ("admin", Some(admin), Some("admin"), true),
        ]
        .map(|(name, token, role, owner_side)| Caller {
            name,
            token,
            role,
            owner_side,
        });
        World {
            db,
            _server: server,
            api,
            _wechat: wechat,
            callers: callers.into(),
            complaint_id,
            own_crew_id,
            photo_id,
        }
    }

    /// An operation's path with the owning side's ids in it.
    fn fill(&self, path: &str) -> String {
        let id = if path.starts_with("/api/v1/crews/") {
            self.own_crew_id.as_str()
        } else if path.starts_with("/api/v1/suppliers/") || path.contains("/suppliers/{id}") {
            "harbin-heat"
        } else if path.starts_with("/api/v1/photos/") {
            self.photo_id.as_str()
        } else {
            self.complaint_id.as_str()
        };
        path.replace("{id}", id)
            .replace("{season}", &season_now())
            .replace("{format}", "json")
    }

    /// Every operation of the served document, as `(METHOD, path)`.
    async fn operations(&self) -> Vec<(String, String)> {
        let document = self
            .api
            .http
            .get(format!("{}/openapi.json", self.api.base))
            .send()
            .await;
        let document: Value = document.unwrap().json().await.unwrap();
        let mut all = Vec::new();
        for (path, operations) in document["paths"].as_object().unwrap() {
            for method in operations.as_object().unwrap().keys() {
                all.push((method.to_uppercase(), path.clone()));
            }
        }
        all
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_each_role_and_scope_as_the_policy_says() {
    let world = World::new().await;
    let World {
        db,
        api,
        callers,
        complaint_id,
        own_crew_id,
        ..
    } = &world;
    // What marks the owning side's rows in a list.
    let owner_marks = [
        complaint_id.clone(),
        own_crew_id.clone(),
        OWN_PHONE.to_owned(),
        "harbin-heat".to_owned(),
    ];
    let policy = policy(db.url());
    let mut failures = Vec::new();
    let mut calls = 0;
    for (method, path) in world.operations().await {
        let path = path.as_str();
        let operation = format!("{method} {path}");
        let Some(admitted) = policy.get(&operation) else {
            failures.push(format!("{operation}: no row in the access policy"));
            continue;
        };
        let public = admitted
            .iter()
            .any(|w| w == "anyone" || w.starts_with("whoever"));
        let mut url = world.fill(path);
        if path == "/api/v1/complaints/search" {
            url.push_str(&format!("?phone={OWN_PHONE}"));
        }
        for caller in callers {
            let body = (method != "GET").then(|| "{}".as_bytes().to_vec().into());
            let reply = api
                .send(
                    method.parse().unwrap(),
                    &url,
                    caller.token.as_deref(),
                    body,
                    &[("content-type", "application/json")],
                )
                .await;
            calls += 1;
            let status = reply.status;
            let code = reply.body["code"].as_str().unwrap_or_default().to_owned();
            let ok = (200..300).contains(&status);
            let what = format!("{operation} by {}: {status} {}", caller.name, reply.body);
            if status >= 500 {
                failures.push(format!("{what} (a server error)"));
            }
            if public {
                continue;
            }
            let admits = caller
                .role
                .is_some_and(|role| admitted.iter().any(|r| r == role));
            match caller.role {
                None if status != 401 => failures.push(format!("{what} (expected 401)")),
                Some(_) if !admits && (status != 403 || code != "role_not_allowed") => {
                    failures.push(format!("{what} (expected 403 role_not_allowed)"))
                }
                Some(_) if admits && (status == 401 || code == "role_not_allowed") => {
                    failures.push(format!("{what} (the policy admits this role)"))
                }
                // A list may answer the other side, with none of the owning side's rows.
                Some(_) if admits && !caller.owner_side && ok && is_list(&reply.body) => {
                    let text = reply.body.to_string();
                    if owner_marks.iter().any(|mark| text.contains(mark.as_str())) {
                        failures.push(format!("{what} (lists the owning side's rows)"));
                    }
                }
                Some(_) if admits && !caller.owner_side && path.contains("{id}") && ok => {
                    failures.push(format!("{what} (the owning side's resource)"))
                }
                _ => {}
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {calls} calls broke the policy:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!(
        "{} operations x {} callers = {calls} calls, all as the policy says",
        policy.len(),
        callers.len()
    );
}

/// A bad request and the refusal it must get.
struct Bad {
    what: &'static str,
    target: String,
    body: Option<Vec<u8>>,
    status: u16,
    code: &'static str,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_of_every_kind_is_refused_with_a_stable_code_and_writes_nothing() {
    let world = World::new().await;
    let policy = policy(world.db.url());
    // Every bad request carries a request id of the sweep, which any event it caused would
    // carry in its metadata.
    let written_by_the_sweep = || async {
        let client = world.db.connect().await;
        let row = client
            .query_one(
                "SELECT count(*) FROM eventstore.event \
                 WHERE metadata->>'request_id' LIKE 'bad-input-sweep-%'",
                &[],
            )
            .await
            .unwrap();
        row.get::<_, i64>(0)
    };
    let mut failures = Vec::new();
    let mut calls = 0;
    for (method, path) in world.operations().await {
        let operation = format!("{method} {path}");
        // An admitted caller of the owning side (anonymous for a public operation), so that
        // the refusal is the input's.
        let admitted = &policy[&operation];
        let public = admitted
            .iter()
            .any(|w| w == "anyone" || w.starts_with("whoever"));
        let Some(caller) = world.callers.iter().find(|c| match c.role {
            None => public,
            Some(role) => c.owner_side && admitted.iter().any(|a| a == role),
        }) else {
            continue;
        };
        let url = world.fill(&path);
        let token = caller.token.as_deref();
        let bad = |what, target, body: Option<&[u8]>, status, code| Bad {
            what,
            target,
            body: body.map(<[u8]>::to_vec),
            status,
            code,
        };
        let mut attempts = vec![
            bad(
                "a NUL in a query parameter",
                format!("{url}?note=a%00b"),
                None,
                400,
                "invalid_parameter",
            ),
            bad(
                "an escape in a query parameter",
                format!("{url}?cursor=%1B%5B31m"),
                None,
                400,
                "invalid_parameter",
            ),
        ];
        if path.contains("{id}") {
            attempts.push(bad(
                "a NUL in the path",
                world.fill(&path.replace("{id}", "a%00b")),
                None,
                400,
                "invalid_parameter",
            ));
        }
        if method == "POST" {
            let huge = vec![b' '; 40 * 1024 * 1024];
            attempts.extend([
                bad(
                    "a NUL in a JSON string",
                    url.clone(),
                    Some(br#"{"note":"a\u0000b","reason":"x\u0000","description":"\u0000"}"#),
                    422,
                    "invalid_fields",
                ),
                bad(
                    "a control character deep in a JSON body",
                    url.clone(),
                    Some(br#"{"items":[{"name":"ok"},{"name":"bell\u0007"}]}"#),
                    422,
                    "invalid_fields",
                ),
                bad(
                    "a body of 40 MB",
                    url.clone(),
                    Some(&huge),
                    413,
                    "payload_too_large",
                ),
            ]);
        }
        for Bad {
            what,
            target,
            body,
            status,
            code,
        } in attempts
        {
            let reply = world
                .api
                .send(
                    method.parse().unwrap(),
                    &target,
                    token,
                    body.map(Into::into),
                    &[
                        ("content-type", "application/json"),
                        ("x-request-id", &format!("bad-input-sweep-{calls}")),
                    ],
                )
                .await;
            calls += 1;
            let got = reply.body["code"].as_str().unwrap_or_default();
            if reply.status != status || got != code {
                failures.push(format!(
                    "{operation} with {what} by {}: {} {} (expected {status} {code})",
                    caller.name, reply.status, reply.body
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {calls} calls:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        written_by_the_sweep().await,
        0,
        "a refused request wrote an event"
    );
    println!("{calls} bad requests, each refused with its stable code");
}
