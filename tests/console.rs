//! The staff console in a real Chromium (Debian's, through ChromeDriver) against `heatline
//! serve` on a demo database: one server, one database and one driver for every scene, in
//! the order a morning would bring them. Each scene takes a screenshot, checks it is not blank
//! and that the page shows the Chinese it should.

mod support;

#[path = "console/regulator.rs"]
mod regulator;

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
    // Suppliers are named as the public board names them, in the rows and the filter.
    let filter = dispatcher.text("select[name=supplier_id]").await;
    for name in ["哈尔滨热力集团", "松北热电公司", "城市能源集团"] {
        assert!(filter.contains(name), "{filter}");
    }
    let rows = dispatcher.text("#queue-rows").await;
    assert!(
        rows.contains("热") && !rows.contains("harbin-heat") && !rows.contains("songbei"),
        "{rows}"
    );
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
    assert!(
        supplier
            .text("header")
            .await
            .contains("供热单位 · 哈尔滨热力集团"),
        "the account's supplier by its name"
    );
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
    let named = supplier
        .script(
            "return [...document.querySelectorAll('dl.facts dt')]\
               .find(dt => dt.textContent === '供热单位').nextElementSibling.textContent",
            json!([]),
        )
        .await;
    assert_eq!(named, "哈尔滨热力集团", "the ticket names its supplier");
    // The supplier's office sees the building, not the home; the filer's words in full.
    let filed = supplier.text("table.members tbody").await;
    assert!(
        filed.contains("***") && !filed.contains("1701") && filed.contains("家里暖气不热"),
        "{filed}"
    );
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
    // The crew on the job sees the exact home to go to.
    crew.wait_for_text("table.members", "南岗区学府路25号3单元1701", 5)
        .await;
    crew.script(
        "document.getElementById('members-h').scrollIntoView()",
        json!([]),
    )
    .await;
    crew.screenshot(&shot("crew-ticket-complaints")).await;
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
    // Every fact in the crew's words: the crew by its name, the extension's state (never a
    // bare `none`).
    let facts = crew.text("dl.facts").await;
    assert!(
        facts.contains("哈尔滨热力集团抢修一班")
            && facts.contains("未申请")
            && !facts.contains("none"),
        "{facts}"
    );

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

    regulator::morning(&driver, &http, &base, &supplier).await;

    for browser in [dispatcher, operator, supplier, crew] {
        browser.close().await;
    }
    drop(driver);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
