//! The staff console in a real Chromium (Debian's, through ChromeDriver) against `heatline
//! serve` on a demo database: one server, one database and one driver for every scene, in
//! the order a morning would bring them. Each scene takes a screenshot, checks it is not blank
//! and that the page shows the Chinese it should.

mod support;

use std::path::PathBuf;

use calamine::Reader;

use serde_json::{Value, json};
use support::Server;
use support::browser::{Browser, Driver};

const PASSWORD: &str = "a cold morning";

fn shot(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("console-screenshots")
        .join(format!("{name}.png"))
}

async fn log_in(browser: &Browser, base: &str, username: &str) {
    browser.open(&format!("{base}/console")).await;
    browser.wait_for_text("h1", "登录", 10).await;
    browser.fill("#username", username).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("button[type=submit].primary").await;
}

async fn timeline_length(browser: &Browser) -> u64 {
    browser
        .script(
            "return document.querySelectorAll('#timeline li').length",
            json!([]),
        )
        .await
        .as_u64()
        .unwrap()
}

/// The operator files the same call: a home of a building no other call came from.
async fn file_a_call(browser: &Browser) {
    browser.fill("#caller_phone", "13912345678").await;
    browser.fill("#address", "南岗区学府路25号3单元1701").await;
    browser.choose("#category", "no_heat").await;
    browser.fill("#description", "家里暖气不热").await;
    browser.click("#filing button[type=submit]").await;
}

/// The first mainland mobile number (11 digits starting 13–19) in `text`, if any.
fn regex_free_phone(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(10)).find_map(|i| {
        let candidate = &bytes[i..i + 11];
        let digits = candidate.iter().all(u8::is_ascii_digit);
        let bounded = (i == 0 || !bytes[i - 1].is_ascii_digit())
            && bytes.get(i + 11).is_none_or(|b| !b.is_ascii_digit());
        (digits && bounded && candidate[0] == b'1' && (b'3'..=b'9').contains(&candidate[1]))
            .then(|| &text[i..i + 11])
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_work_a_cold_morning_in_the_console_in_chromium() {
    let db = testkit::TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("heatline-console-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    support::heatline(db.url(), &["demo", "--complaints", "60"]);
    let server = Server::start(Some(db.url()), &dir);
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let driver = Driver::start().await;

    // A dispatcher logs in (a wrong password first), sees the bands, opens the ticket that
    // breaches next and supervises it.
    let dispatcher = driver.browser(1366, 768).await;
    dispatcher.open(&format!("{base}/console/queue")).await;
    dispatcher.wait_for_text("h1", "登录", 10).await;
    dispatcher.fill("#username", "demo.dispatcher").await;
    dispatcher.fill("#password", "not the password").await;
    dispatcher.click("button[type=submit].primary").await;
    dispatcher
        .wait_for_text("#login-error", "用户名或密码错误", 10)
        .await;
    log_in(&dispatcher, &base, "demo.dispatcher").await;
    let bands = dispatcher.wait_for_text(".bands", "已超时", 10).await;
    for band in ["即将超时", "已暂停", "正常", "在办合计"] {
        assert!(bands.contains(band), "{bands}");
    }
    assert!(dispatcher.text("h1").await.contains("工单队列"));
    dispatcher.screenshot(&shot("dispatcher-queue")).await;
    let first = dispatcher
        .script(
            "return document.querySelector('#queue-rows tr').dataset.ticket",
            json!([]),
        )
        .await;
    let first = first.as_str().expect("a ticket in the queue").to_owned();
    dispatcher.click("#queue-rows tr:first-child td a").await;
    dispatcher.wait_for_text("h2#clocks-h", "时限", 10).await;
    assert!(dispatcher.url().await.ends_with(&first));
    let before = timeline_length(&dispatcher).await;
    dispatcher.fill("#supervise-note", "请今天内修复").await;
    dispatcher
        .click("#form-supervise button[type=submit]")
        .await;
    dispatcher.wait_for_text("#timeline", "督办", 10).await;
    assert_eq!(timeline_length(&dispatcher).await, before + 1);
    dispatcher.screenshot(&shot("dispatcher-ticket")).await;

    // Someone else changes the ticket meanwhile: the stale form is explained, with the
    // ticket as it is now.
    let token = support::login(&http, &base, "demo.dispatcher", PASSWORD).await;
    let changed = http
        .post(format!("{base}/api/v1/tickets/{first}/supervise"))
        .bearer_auth(&token)
        .json(&json!({"note": "另一位调度员督办"}))
        .send()
        .await
        .unwrap();
    assert!(changed.status().is_success());
    dispatcher.fill("#supervise-note", "再次督办").await;
    dispatcher
        .click("#form-supervise button[type=submit]")
        .await;
    dispatcher
        .wait_for_text("#notice", "工单已被他人修改", 10)
        .await;
    dispatcher
        .wait_for_text("#timeline", "另一位调度员督办", 5)
        .await;
    dispatcher.screenshot(&shot("dispatcher-conflict")).await;

    // A form without the session's CSRF token is refused, and changes nothing.
    let before = timeline_length(&dispatcher).await;
    dispatcher
        .script(
            "document.querySelector('#form-supervise input[name=csrf]').remove()",
            json!([]),
        )
        .await;
    dispatcher.fill("#supervise-note", "伪造的请求").await;
    dispatcher
        .click("#form-supervise button[type=submit]")
        .await;
    dispatcher.wait_for_text("main", "表单已失效", 10).await;
    dispatcher.screenshot(&shot("csrf-refused")).await;
    dispatcher
        .open(&format!("{base}/console/tickets/{first}"))
        .await;
    assert_eq!(timeline_length(&dispatcher).await, before);

    // An operator files for a caller, then the same home calls again: merged.
    let operator = driver.browser(1366, 768).await;
    log_in(&operator, &base, "demo.operator").await;
    operator.wait_for_text("h1", "热线受理", 10).await;
    // The address is completed from the building registry as the operator types.
    operator.fill("#address", "学府路2").await;
    let mut offered = Value::Null;
    for _ in 0..50 {
        offered = operator
            .script(
                "return [...document.querySelectorAll('#addresses option')].map(o => o.value)",
                json!([]),
            )
            .await;
        if offered.as_array().is_some_and(|o| !o.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        offered
            .as_array()
            .is_some_and(|o| o.iter().any(|a| a == "南岗区学府路21号")),
        "{offered}"
    );
    file_a_call(&operator).await;
    let answer = operator.wait_for_text("#answer", "已受理", 10).await;
    let complaint = answer
        .split_whitespace()
        .last()
        .unwrap()
        .trim_start_matches("投诉编号:")
        .to_owned();
    operator.fill("#lookup-phone", "13912345678").await;
    operator.click(".lookup button[type=submit]").await;
    operator.wait_for_text("#repeat", "重复来电", 10).await;
    file_a_call(&operator).await;
    operator.wait_for_text("#answer", "已合并", 10).await;
    operator.screenshot(&shot("operator-merged")).await;

    // The supplier's admin signs for the new ticket and assigns its crew.
    let supplier = driver.browser(1366, 768).await;
    log_in(&supplier, &base, "demo.harbin-heat").await;
    supplier.wait_for_text("h1", "本单位工单", 10).await;
    let ticket = format!("{base}/console/tickets/{complaint}");
    let mut shown = String::new();
    for _ in 0..50 {
        supplier.open(&ticket).await;
        shown = supplier.text("main").await;
        if shown.contains("已派单") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(shown.contains("已派单"), "{shown}");
    supplier.click("#form-sign button[type=submit]").await;
    supplier.wait_for_text("h1", "已签收", 10).await;
    supplier.click("#form-assign button[type=submit]").await;
    supplier.wait_for_text("h1", "已派工", 10).await;
    supplier.wait_for_text("#timeline", "派工", 5).await;
    supplier.screenshot(&shot("supplier-assigned")).await;

    // Its crews and their members.
    supplier.click("nav a[href='/console/crews']").await;
    supplier
        .wait_for_text("#crews", "demo.crew.harbin-heat", 10)
        .await;

    // Its credit ledger: each entry with its evidence; it appeals a deduction with a photo.
    supplier.open(&format!("{base}/console/ledger")).await;
    supplier.wait_for_text("h1", "信用台账", 10).await;
    supplier.wait_for_text("main", "证据事件", 5).await;
    supplier.click(".entry details summary").await;
    supplier
        .fill(
            ".entry details[open] textarea",
            "该户室温不达标系用户自行改装暖气所致，附现场照片。",
        )
        .await;
    supplier
        .upload(
            ".entry details[open] input[type=file]",
            &shot("supplier-assigned"),
        )
        .await;
    let mut attached = Value::Null;
    for _ in 0..50 {
        attached = supplier
            .script(
                "return document.querySelector('.entry details[open] input[name=attachment_base64]').value.length",
                json!([]),
            )
            .await;
        if attached.as_u64().is_some_and(|n| n > 0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(attached.as_u64().is_some_and(|n| n > 1000), "{attached}");
    supplier
        .click(".entry details[open] button[type=submit]")
        .await;
    supplier.wait_for_text("main", "申诉已提交", 10).await;
    supplier.wait_for_text("main", "申诉中", 5).await;
    supplier.screenshot(&shot("supplier-appealed")).await;
    supplier.click("nav a[href='/console/appeals']").await;
    let appeals = supplier.wait_for_text("#appeals", "申诉中", 10).await;
    assert!(appeals.contains("自行改装暖气"), "{appeals}");
    assert!(appeals.contains(".png"), "{appeals}");
    supplier.screenshot(&shot("supplier-appeals")).await;

    // The dispatcher watches resolved tickets: the queue updates by itself.
    dispatcher
        .open(&format!("{base}/console/queue?status=resolved"))
        .await;
    dispatcher.wait_for_text(".live", "自动更新", 10).await;

    // The crew member, on a phone, checks in where the browser is, measures 19 °C, resolves.
    let crew = driver.browser(390, 844).await;
    crew.devtools(
        "Browser.grantPermissions",
        json!({"permissions": ["geolocation"], "origin": base}),
    )
    .await;
    crew.devtools(
        "Emulation.setGeolocationOverride",
        json!({"latitude": 45.7512, "longitude": 126.6423, "accuracy": 10}),
    )
    .await;
    log_in(&crew, &base, "demo.crew.harbin-heat").await;
    crew.wait_for_text("h1", "我的任务", 10).await;
    crew.click(&format!("a[href='/console/tickets/{complaint}']"))
        .await;
    crew.wait_for_text("#actions-h", "操作", 10).await;
    crew.click("button.locate").await;
    let mut position = Value::Null;
    for _ in 0..50 {
        position = crew
            .script(
                "return document.getElementById('latitude').value",
                json!([]),
            )
            .await;
        if position.as_str().is_some_and(|p| !p.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(position, json!("45.751200"));
    crew.click("#form-check-in button[type=submit]").await;
    crew.wait_for_text("h1", "已到场", 10).await;
    crew.fill("#celsius", "19").await;
    crew.fill("#room", "卧室").await;
    crew.fill("#device", "TM-2041").await;
    crew.click("#form-measurements button[type=submit]").await;
    crew.wait_for_text("main", "19.0 °C", 10).await;
    crew.choose("#resolve-cause", "supplier").await;
    crew.fill("#resolve-note", "更换阀门，室温恢复").await;
    crew.click("#form-resolve button[type=submit]").await;
    crew.wait_for_text("h1", "已办结待回访", 10).await;
    let weight = crew
        .script(
            "return new Blob([document.documentElement.outerHTML]).size",
            json!([]),
        )
        .await
        .as_u64()
        .unwrap();
    assert!(weight < 100_000, "the crew's page is {weight} bytes");
    crew.screenshot(&shot("crew-resolved")).await;

    // Another crew's job is not this crew's to open.
    let token = support::login(&http, &base, "demo.dispatcher", PASSWORD).await;
    let theirs: Value = http
        .get(format!(
            "{base}/api/v1/tickets?supplier_id=songbei-thermal&limit=1"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let theirs = theirs["items"][0]["ticket_id"].as_str().unwrap();
    crew.open(&format!("{base}/console/tickets/{theirs}")).await;
    let refused = crew.text("main").await;
    assert!(
        refused.contains("没有找到该内容") || refused.contains("您无权"),
        "{refused}"
    );
    crew.screenshot(&shot("crew-refused")).await;

    // The dispatcher's queue showed the resolved ticket without a reload, marked new.
    let row = format!("#queue-rows tr[data-ticket='{complaint}']");
    dispatcher.wait_for_text(&row, "已办结待回访", 15).await;
    assert!(dispatcher.text(&row).await.contains("新"));
    dispatcher.screenshot(&shot("dispatcher-live")).await;

    // The access token runs out: the page refreshes it silently from the refresh cookie.
    let spent = dispatcher
        .cookie("hl_access")
        .await
        .expect("an access cookie");
    dispatcher.delete_cookie("hl_access").await;
    dispatcher.open(&format!("{base}/console/queue")).await;
    dispatcher.wait_for_text("h1", "工单队列", 10).await;
    let renewed = dispatcher
        .cookie("hl_access")
        .await
        .expect("a new access cookie");
    assert_ne!(renewed, spent);

    // English on request, then back; logging out ends the session.
    dispatcher
        .click("form[action='/console/language'] button")
        .await;
    dispatcher.wait_for_text("h1", "Ticket queue", 10).await;
    dispatcher
        .click("form[action='/console/language'] button")
        .await;
    dispatcher.wait_for_text("h1", "工单队列", 10).await;
    dispatcher
        .click("form[action='/console/logout'] button")
        .await;
    dispatcher.wait_for_text("main", "您已退出登录", 10).await;
    dispatcher.open(&format!("{base}/console/queue")).await;
    dispatcher.wait_for_text("h1", "登录", 10).await;

    // The regulator's morning: the targets board agrees with the API, a ranking row leads to
    // an evidence event and its ticket in three clicks, an appeal is upheld and the score
    // moves, and the season is replayed under next season's rulebook.
    let season = credit::domain::values::Season::of(chrono::Utc::now()).to_string();
    let token = support::login(&http, &base, "demo.regulator", PASSWORD).await;
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
    log_in(&regulator, &base, "demo.regulator").await;
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

    for browser in [dispatcher, operator, supplier, crew, regulator] {
        browser.close().await;
    }
    drop(driver);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
