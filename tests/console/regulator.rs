//! The regulator's morning in the console, after the staff's: the board, the ranking and its
//! evidence, an appeal decided, a what-if, an order to a supplier, and the public board.

use super::*;

/// The regulator's morning: the targets board agrees with the API, a ranking row leads to
/// an evidence event and its ticket in three clicks, an appeal is upheld and the score
/// moves, and the season is replayed under next season's rulebook.
/// Then a cold wave brings an order to Nangang's supplier, whose admin (`supplier`) confirms
/// it, and a closed month's grades reach the public board.
pub(crate) async fn morning(
    driver: &Driver,
    http: &reqwest::Client,
    base: &str,
    supplier: &Browser,
) {
    let season = credit::domain::values::Season::of(chrono::Utc::now()).to_string();
    let token = support::login(http, base, "demo.regulator", PASSWORD).await;
    let api = |path: String| {
        let (http, token, base) = (&http, &token, &base);
        async move {
            let answer = http
                .get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert!(answer.status().is_success(), "{path}: {}", answer.status());
            answer.json::<Value>().await.unwrap()
        }
    };
    let regulator = driver.browser(1366, 768).await;
    log_in(&regulator, base, "demo.regulator").await;
    regulator.wait_for_text("h1", "供热目标看板", 10).await;
    let board = api(format!("/api/v1/credit/seasons/{season}/targets")).await;
    let city = &board["city"]["season"];
    let expected = format!(
        "{:.1}% ({})",
        city["share_at_or_above_standard"].as_f64().unwrap() * 100.0,
        city["measurements"]
    );
    assert_eq!(
        regulator.text("tr.city td:nth-of-type(1) a").await,
        expected
    );
    let satisfaction = format!(
        "{:.1}% ({})",
        city["satisfaction"].as_f64().unwrap() * 100.0,
        city["verdicts"]
    );
    assert_eq!(
        regulator.text("tr.city td:nth-of-type(2) a").await,
        satisfaction
    );
    assert!(
        regulator
            .text("tr.city td:nth-of-type(6) a")
            .await
            .starts_with(&board["city"]["season"]["open_tickets"].to_string())
    );
    let charts = regulator
        .script(
            "return document.querySelectorAll('svg.chart rect.c-bar').length",
            json!([]),
        )
        .await;
    assert!(charts.as_u64().unwrap() >= 2, "{charts}");
    regulator.screenshot(&shot("regulator-targets")).await;
    // A figure lists the tickets behind it.
    regulator.click("tr.city td:nth-of-type(6) a").await;
    regulator.wait_for_text("h1", "在办工单", 10).await;
    let listed = regulator
        .script(
            "return document.querySelectorAll('main tbody tr').length",
            json!([]),
        )
        .await;
    assert!(listed.as_u64().unwrap() > 0);

    // Three clicks: the ranking's first row, an entry's evidence, the ticket's timeline.
    regulator.open(&format!("{base}/console/ranking")).await;
    regulator.wait_for_text("h1", "信用排名", 10).await;
    regulator.click("table.ranking tbody tr th a").await;
    regulator.wait_for_text("main h2", "台账条目", 10).await;
    regulator
        .click("article.entry:has(a[href^='/console/tickets/']) a.evidence")
        .await;
    regulator.wait_for_text("h1", "证据事件", 10).await;
    regulator
        .wait_for_text("main", "信用系统读取的事实", 5)
        .await;
    regulator.screenshot(&shot("regulator-evidence")).await;
    regulator.click("a.button").await;
    regulator.wait_for_text("#timeline", "派单", 10).await;

    // The ranking as an official takes it into a meeting: an XLSX a real reader opens.
    let access = regulator.cookie("hl_access").await.expect("a session");
    let workbook = http
        .get(format!("{base}/console/exports/ranking.xlsx"))
        .header("cookie", format!("hl_access={access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(workbook.status(), 200);
    assert!(
        workbook.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".xlsx")
    );
    let bytes = workbook.bytes().await.unwrap();
    let mut book: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = book.worksheet_range("信用排名").unwrap();
    let ranking = api(format!("/api/v1/credit/seasons/{season}/ranking")).await;
    let ranking = ranking.as_array().unwrap();
    assert_eq!(
        sheet.height(),
        ranking.len() + 1,
        "a heading row and a row per supplier"
    );
    assert_eq!(
        sheet.get((0, 1)),
        Some(&calamine::Data::String("供热单位编号".into()))
    );
    for (row, supplier) in ranking.iter().enumerate() {
        assert_eq!(
            sheet.get((row + 1, 1)),
            Some(&calamine::Data::String(
                supplier["supplier_id"].as_str().unwrap().into()
            ))
        );
        assert_eq!(
            sheet.get((row + 1, 3)),
            Some(&calamine::Data::Float(supplier["score"].as_f64().unwrap()))
        );
    }
    let csv = http
        .get(format!("{base}/console/exports/retrofit.csv"))
        .header("cookie", format!("hl_access={access}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("\u{feff}排名,楼栋"), "{csv}");
    regulator.open(&format!("{base}/console/retrofit")).await;
    regulator.wait_for_text("h1", "管网改造优先清单", 10).await;
    regulator.wait_for_text("#retrofit", "1", 5).await;
    regulator.screenshot(&shot("regulator-retrofit")).await;

    // The network map: a cell per station, the district totals as the API counts them.
    let map = api(format!("/api/v1/credit/seasons/{season}/map")).await;
    let districts = map["districts"].as_array().unwrap();
    assert!(!districts.is_empty(), "{map}");
    let stations: usize = districts
        .iter()
        .map(|d| d["stations"].as_array().unwrap().len())
        .sum();
    regulator.open(&format!("{base}/console/map")).await;
    regulator.wait_for_text("h1", "投诉与事件分布", 10).await;
    let cells = regulator
        .script(
            "return document.querySelectorAll('svg.schematic a.s-station').length",
            json!([]),
        )
        .await;
    assert_eq!(cells.as_u64().unwrap() as usize, stations);
    assert_eq!(
        regulator
            .text("#map-table tr.total td:nth-of-type(3)")
            .await,
        districts[0]["complaints"].to_string()
    );
    regulator.screenshot(&shot("regulator-map")).await;

    // Refunds: what each supplier owes for the morning's cold rooms, as the API counts it, and
    // one household's days with the repair and the events behind them.
    let owed = api(format!("/api/v1/refunds/seasons/{season}/suppliers")).await;
    let owed = owed.as_array().unwrap();
    regulator.open(&format!("{base}/console/refunds")).await;
    regulator.wait_for_text("h1", "热费退费台账", 10).await;
    if owed.is_empty() {
        // Outside the official heating days (the tests run on a later date too) nothing is
        // refunded, and the page says so.
        regulator.wait_for_text("main", "本采暖季尚无退费", 5).await;
    } else {
        let rows = regulator
            .script(
                "return document.querySelectorAll('#refund-totals tbody tr').length",
                json!([]),
            )
            .await;
        assert_eq!(rows.as_u64().unwrap() as usize, owed.len());
        regulator.screenshot(&shot("regulator-refunds")).await;
        regulator.click("#refund-households tbody tr th a").await;
        regulator.wait_for_text("h1", "住户退费明细", 10).await;
        regulator
            .wait_for_text("#refund-days", "室温不达标", 5)
            .await;
        regulator.screenshot(&shot("regulator-refund")).await;
    }
    // Districts have the registry's heated area, so complaints per 10,000 m² are known.
    assert!(
        board["districts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["season"]["complaints_per_10k_m2"].is_number()),
        "{}",
        board["districts"]
    );

    // The oldest pending appeal is upheld: its deduction is reversed and the score moves.
    regulator.open(&format!("{base}/console/decisions")).await;
    regulator.wait_for_text("h1", "申诉裁决", 10).await;
    let appellant = regulator
        .script(
            "return document.querySelector('article.appeal-card h3 a').textContent",
            json!([]),
        )
        .await;
    let appellant = appellant.as_str().unwrap().to_owned();
    let score_path = format!("/api/v1/credit/seasons/{season}/suppliers/{appellant}");
    let before = api(score_path.clone()).await["score"].as_f64().unwrap();
    regulator.screenshot(&shot("regulator-decisions")).await;
    regulator
        .click("article.appeal-card form.decide input[value=uphold]")
        .await;
    regulator
        .fill(
            "article.appeal-card form.decide textarea",
            "复核维修记录，确系住户自行关阀，撤销该扣分。",
        )
        .await;
    regulator
        .click("article.appeal-card form.decide button[type=submit]")
        .await;
    regulator
        .wait_for_text("[role=status]", "申诉成立", 10)
        .await;
    let mut after = before;
    for _ in 0..50 {
        after = api(score_path.clone()).await["score"].as_f64().unwrap();
        if after != before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // The appealed entry's evidence stops counting: the dimension is scored again without it.
    assert_ne!(after, before, "{appellant}'s score moved");
    regulator
        .open(&format!("{base}/console/suppliers/{appellant}"))
        .await;
    regulator
        .wait_for_text("dl.facts", &format!("{after:.2}"), 10)
        .await;
    regulator.wait_for_text("main", "申诉成立", 5).await;

    // What-if: next season's rulebook, every supplier both ways, nothing written.
    regulator.open(&format!("{base}/console/what-if")).await;
    regulator.choose("#version", "2027.1").await;
    regulator.click("form.filters button[type=submit]").await;
    regulator.wait_for_text("main", "推演得分", 20).await;
    let rows = regulator
        .script(
            "return document.querySelectorAll('main tbody tr').length",
            json!([]),
        )
        .await;
    assert_eq!(rows, json!(3));
    assert_eq!(api(score_path).await["score"].as_f64().unwrap(), after);
    regulator.screenshot(&shot("regulator-what-if")).await;

    // A cold wave comes: the regulator orders Nangang's supplier to raise the supply
    // temperature; the board shows who has not acknowledged until Harbin Heat does.
    let china = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let local = |hours: i64| {
        (chrono::Utc::now() + chrono::Duration::hours(hours))
            .with_timezone(&china)
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    regulator.open(&format!("{base}/console/orders")).await;
    regulator.wait_for_text("h1", "寒潮保供指令", 10).await;
    regulator.fill("#districts", "nangang").await;
    regulator
        .script(
            "document.querySelector('#from').value = arguments[0]; \
             document.querySelector('#until').value = arguments[1];",
            json!([local(-1), local(48)]),
        )
        .await;
    regulator
        .fill(
            "#instruction",
            "寒潮来袭，今晚20时起一级网供水温度提高到95 °C",
        )
        .await;
    regulator.click("#issue button[type=submit]").await;
    regulator
        .wait_for_text("[role=status]", "指令已下达", 10)
        .await;
    regulator.wait_for_text("article.order", "未确认", 5).await;
    regulator.open(&format!("{base}/console/targets")).await;
    regulator
        .wait_for_text("#orders-in-force", "1 家未确认", 10)
        .await;
    let marked = regulator
        .script(
            "return document.querySelectorAll('svg.chart rect.c-marked').length",
            json!([]),
        )
        .await;
    assert!(
        marked.as_u64().unwrap() >= 2,
        "today is marked on both charts: {marked}"
    );
    supplier.open(&format!("{base}/console/orders")).await;
    supplier
        .wait_for_text("article.order", "供水温度", 10)
        .await;
    supplier
        .fill("article.order textarea", "已通知换热站，20时前完成调温")
        .await;
    supplier
        .click("article.order form button[type=submit]")
        .await;
    supplier
        .wait_for_text("[role=status]", "已确认该指令", 10)
        .await;
    supplier.screenshot(&shot("supplier-order")).await;
    regulator.open(&format!("{base}/console/orders")).await;
    regulator
        .wait_for_text("article.order", "已通知换热站", 10)
        .await;
    assert!(!regulator.text("article.order h3").await.contains("未确认"));
    regulator.screenshot(&shot("regulator-orders")).await;

    // The public board: nothing provisional before the regulator publishes a closed month,
    // then that month's grades; never a phone number or a resident's words.
    let public = driver.browser(1366, 768).await;
    public.open(&format!("{base}/board")).await;
    public.wait_for_text("h1", "供热服务公开榜", 10).await;
    public.wait_for_text("#no-grades", "尚未发布", 5).await;
    regulator.open(&format!("{base}/console/ranking")).await;
    let publishing = regulator.wait_for_text("#publish", "", 10).await;
    // A month is closed once it has ended: from 1 December of a season on (CI also runs on
    // other days, when none may be closed yet).
    if publishing.contains("向社会发布") {
        regulator.click("#publish button[type=submit]").await;
        regulator
            .wait_for_text("[role=status]", "已发布到公开榜", 10)
            .await;
        regulator.wait_for_text("table.ranking", "已发布", 5).await;
        // Another address than the first visit's, which the browser may keep for a minute.
        public.open(&format!("{base}/board?season={season}")).await;
        let grades = public.wait_for_text("#grades", "月", 10).await;
        assert_eq!(
            public
                .script(
                    "return document.querySelectorAll('#grades tbody tr td .grade').length",
                    json!([]),
                )
                .await,
            json!(3),
            "{grades}"
        );
    } else {
        assert!(publishing.contains("没有待发布"), "{publishing}");
        public.open(&format!("{base}/board?season={season}")).await;
        public.wait_for_text("#no-grades", "尚未发布", 5).await;
    }
    let html = public
        .script("return document.documentElement.outerHTML", json!([]))
        .await;
    let html = html.as_str().unwrap();
    let phone = regex_free_phone(html);
    assert!(
        phone.is_none(),
        "a phone number on the public board: {phone:?}"
    );
    assert!(
        !html.contains("室内温度低"),
        "a complaint's description on the public board"
    );
    public.screenshot(&shot("public-board")).await;
    public.close().await;
    regulator.close().await;
}
