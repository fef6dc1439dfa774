//! Exports an official takes into a meeting: the ranking, the ledger, the targets board and
//! the retrofit list as XLSX (one sheet, Chinese column names, numbers as numbers) or CSV
//! (UTF-8 with a byte-order mark, so that spreadsheet programs read the Chinese), from the
//! same API answers the pages show.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use rust_xlsxwriter::{Format, Workbook};
use serde::Deserialize;
use serde_json::Value;

use super::queue::urlencode;
use super::season_or_now;
use super::{read, refused};
use crate::Console;
use crate::api::Failure;
use crate::session::Session;

/// A cell of an export.
pub(crate) enum Cell {
    Text(String),
    Number(f64),
}

/// One sheet: its name, its columns, its rows.
pub(crate) struct Table {
    pub sheet: &'static str,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

fn text(value: &Value) -> Cell {
    match value {
        Value::Null => Cell::Text(String::new()),
        Value::String(s) => Cell::Text(s.clone()),
        Value::Number(n) => Cell::Number(n.as_f64().unwrap_or_default()),
        Value::Bool(b) => Cell::Text(if *b { "是" } else { "否" }.into()),
        Value::Array(items) => Cell::Text(
            items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    Value::Object(o) => o
                        .get("id")
                        .or_else(|| o.get("cause"))
                        .and_then(Value::as_str)
                        .map(|s| match o.get("tickets") {
                            Some(n) => format!("{s}×{n}"),
                            None => s.to_owned(),
                        })
                        .unwrap_or_default(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Value::Object(_) => Cell::Text(value.to_string()),
    }
}

impl Table {
    /// The sheet as an XLSX workbook.
    pub fn xlsx(&self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.set_name(self.sheet)?;
        let bold = Format::new().set_bold();
        for (c, heading) in self.headers.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, *heading, &bold)?;
            sheet.set_column_width(c as u16, 14)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                match cell {
                    Cell::Text(s) => sheet.write_string(r, c as u16, s)?,
                    Cell::Number(n) => sheet.write_number(r, c as u16, *n)?,
                };
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        workbook.save_to_buffer()
    }

    /// The sheet as CSV, with a byte-order mark.
    pub fn csv(&self) -> Result<Vec<u8>, csv::Error> {
        let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
        out.write_record(&self.headers)?;
        for row in &self.rows {
            out.write_record(row.iter().map(|cell| match cell {
                Cell::Text(s) => s.clone(),
                Cell::Number(n) => n.to_string(),
            }))?;
        }
        out.into_inner().map_err(|e| e.into_error().into())
    }
}

/// The query of an export.
#[derive(Debug, Deserialize)]
pub(crate) struct ExportQuery {
    season: Option<String>,
}

/// `/console/exports/{name}.{xlsx|csv}`.
pub(crate) async fn export(
    session: Session,
    console: web::Data<Console>,
    file: web::Path<String>,
    query: web::Query<ExportQuery>,
) -> HttpResponse {
    let season = season_or_now(query.season.clone());
    let Some((name, extension)) = file.rsplit_once('.') else {
        return refused(&session, &not_found(), "/console");
    };
    let table = match name {
        "ranking" => ranking(&console, &session, &season).await,
        "ledger" => ledger(&console, &session, &season).await,
        "targets" => targets(&console, &session, &season).await,
        "retrofit" => retrofit(&console, &session, &season).await,
        "refunds" => refunds(&console, &session, &season).await,
        _ => return refused(&session, &not_found(), "/console"),
    };
    let table = match table {
        Ok(table) => table,
        Err(refusal) => return refusal,
    };
    let (body, kind) = match extension {
        "xlsx" => (
            table.xlsx().map_err(|e| e.to_string()),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        "csv" => (
            table.csv().map_err(|e| e.to_string()),
            "text/csv; charset=utf-8",
        ),
        _ => return refused(&session, &not_found(), "/console"),
    };
    match body {
        Ok(body) => session.finish(
            HttpResponse::Ok()
                .insert_header((header::CONTENT_TYPE, kind))
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}-{season}.{extension}\""),
                ))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(body),
        ),
        Err(error) => {
            tracing::error!(%error, "an export could not be written");
            HttpResponse::InternalServerError().body("the export could not be written")
        }
    }
}

/// The households with a refund, largest first, each with its supplier, days and sum.
async fn refunds(
    console: &Console,
    session: &Session,
    season: &str,
) -> Result<Table, HttpResponse> {
    let (_, homes) = super::refunds::read_refunds(console, session, season, None).await?;
    Ok(Table {
        sheet: "退费台账",
        headers: vec![
            "供热单位",
            "住户编号",
            "区县",
            "楼栋",
            "退费天数",
            "退费金额（元）",
            "最近退费日",
        ],
        rows: homes
            .into_iter()
            .map(|h| {
                vec![
                    Cell::Text(h.supplier_id),
                    Cell::Text(h.household),
                    Cell::Text(h.district.unwrap_or_default()),
                    Cell::Text(h.building_id.unwrap_or_default()),
                    Cell::Number(h.days as f64),
                    Cell::Number(h.amount_fen as f64 / 100.0),
                    Cell::Text(h.last_day),
                ]
            })
            .collect(),
    })
}

fn not_found() -> Failure {
    Failure::local(404, "not_found", "no such export")
}

async fn ranking(
    console: &Console,
    session: &Session,
    season: &str,
) -> Result<Table, HttpResponse> {
    let back = "/console/ranking";
    let ranks: Vec<Value> = read(
        console,
        session,
        &format!("/api/v1/credit/seasons/{season}/ranking"),
        back,
    )
    .await?;
    let mut rows = Vec::new();
    for rank in &ranks {
        let id = rank["supplier_id"].as_str().unwrap_or_default();
        let path = format!(
            "/api/v1/credit/seasons/{season}/suppliers/{}",
            urlencode(id)
        );
        let score: Value = read(console, session, &path, back).await?;
        let mut row = vec![
            text(&rank["rank"]),
            text(&rank["supplier_id"]),
            text(&rank["name"]),
            text(&rank["score"]),
            text(&rank["grade"]),
            text(&rank["vetoed"]),
        ];
        for d in score["dimensions"].as_array().into_iter().flatten() {
            row.push(text(&d["points"]));
        }
        let months: Vec<String> = score["closings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                format!(
                    "{} {}",
                    c["period"].as_str().unwrap_or(""),
                    c["grade"].as_str().unwrap_or("")
                )
            })
            .collect();
        row.push(Cell::Text(months.join(" ")));
        rows.push(row);
    }
    Ok(Table {
        sheet: "信用排名",
        headers: vec![
            "名次",
            "供热单位编号",
            "供热单位",
            "得分",
            "等级",
            "一票否决",
            "供热质量",
            "时限履约",
            "万平米投诉率",
            "满意度",
            "停热",
            "数据对接",
            "月度等级",
        ],
        rows,
    })
}

async fn ledger(console: &Console, session: &Session, season: &str) -> Result<Table, HttpResponse> {
    let back = "/console/ranking";
    let ranks: Vec<Value> = read(
        console,
        session,
        &format!("/api/v1/credit/seasons/{season}/ranking"),
        back,
    )
    .await?;
    let mut rows = Vec::new();
    for rank in &ranks {
        let id = rank["supplier_id"].as_str().unwrap_or_default();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!(
                "/api/v1/credit/seasons/{season}/suppliers/{}/ledger?limit=500",
                urlencode(id)
            );
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={}", urlencode(c)));
            }
            let page: Value = read(console, session, &path, back).await?;
            for e in page["items"].as_array().into_iter().flatten() {
                rows.push(vec![
                    Cell::Text(id.to_owned()),
                    text(&e["sequence"]),
                    text(&e["entry_id"]),
                    text(&e["dimension"]),
                    text(&e["rule"]),
                    text(&e["points"]),
                    text(&e["detail"]),
                    text(&e["at"]),
                    text(&e["evidence"]),
                    text(&e["tickets"]),
                    text(&e["appeal"]),
                ]);
            }
            cursor = page["next_cursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
    }
    Ok(Table {
        sheet: "信用台账",
        headers: vec![
            "供热单位",
            "序号",
            "条目编号",
            "维度",
            "规则",
            "分值",
            "说明",
            "发生时间",
            "证据事件",
            "相关工单",
            "申诉",
        ],
        rows,
    })
}

async fn targets(
    console: &Console,
    session: &Session,
    season: &str,
) -> Result<Table, HttpResponse> {
    let board: Value = read(
        console,
        session,
        &format!("/api/v1/credit/seasons/{season}/targets"),
        "/console/targets",
    )
    .await?;
    let mut rows = Vec::new();
    let scopes = std::iter::once(&board["city"])
        .chain(board["districts"].as_array().into_iter().flatten())
        .chain(board["suppliers"].as_array().into_iter().flatten());
    for scope in scopes {
        let kind = match scope["scope"].as_str() {
            Some("district") => "区县",
            Some("supplier") => "供热单位",
            _ => "全市",
        };
        let name = scope["name"]
            .as_str()
            .or(scope["key"].as_str())
            .unwrap_or("全市");
        for (window, label) in [("season", "本采暖季"), ("week", "本周")] {
            let f = &scope[window];
            rows.push(vec![
                Cell::Text(kind.into()),
                Cell::Text(name.into()),
                Cell::Text(label.into()),
                text(&f["complaints"]),
                text(&f["complaints_per_10k_m2"]),
                text(&f["measurements"]),
                text(&f["at_or_above_standard"]),
                text(&f["share_at_or_above_standard"]),
                text(&f["verdicts"]),
                text(&f["satisfied"]),
                text(&f["satisfaction"]),
                text(&f["dispatched"]),
                text(&f["signed_in_time"]),
                text(&f["share_signed_in_time"]),
                text(&f["restored"]),
                text(&f["restore_median_minutes"]),
                text(&f["restore_p90_minutes"]),
                text(&f["open_tickets"]),
                text(&f["incidents_open"]),
            ]);
        }
    }
    Ok(Table {
        sheet: "供热目标",
        headers: vec![
            "范围",
            "名称",
            "期间",
            "投诉量",
            "每万平方米投诉",
            "测温次数",
            "达标次数",
            "室温达标率",
            "评价数",
            "满意数",
            "满意率",
            "派单数",
            "30分钟内签收",
            "签收率",
            "已修复",
            "修复时长中位数（分钟）",
            "修复时长90%（分钟）",
            "在办工单",
            "在办事件",
        ],
        rows,
    })
}

async fn retrofit(
    console: &Console,
    session: &Session,
    season: &str,
) -> Result<Table, HttpResponse> {
    let list: Vec<Value> = read(
        console,
        session,
        &format!("/api/v1/credit/seasons/{season}/retrofit?limit=1000"),
        "/console/retrofit",
    )
    .await?;
    Ok(Table {
        sheet: "管网改造清单",
        headers: vec![
            "排名",
            "楼栋",
            "区县",
            "换热站",
            "供热单位",
            "投诉量",
            "投诉户数",
            "重复投诉户数",
            "片区事件",
            "不达标测温",
            "处理原因",
        ],
        rows: list
            .iter()
            .map(|b| {
                vec![
                    text(&b["rank"]),
                    text(&b["building_id"]),
                    text(&b["district"]),
                    text(&b["station"]),
                    text(&b["supplier_id"]),
                    text(&b["complaints"]),
                    text(&b["households"]),
                    text(&b["repeat_households"]),
                    text(&b["incidents"]),
                    text(&b["below_standard"]),
                    text(&b["causes"]),
                ]
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            sheet: "信用排名",
            headers: vec!["名次", "供热单位"],
            rows: vec![
                vec![Cell::Number(1.0), Cell::Text("南岗热力, \"一期\"".into())],
                vec![Cell::Number(2.0), Cell::Text("道里".into())],
            ],
        }
    }

    #[test]
    fn csv_starts_with_a_byte_order_mark_and_quotes_what_needs_it() {
        let csv = String::from_utf8(table().csv().unwrap()).unwrap();
        assert_eq!(
            csv,
            "\u{feff}名次,供热单位\n1,\"南岗热力, \"\"一期\"\"\"\n2,道里\n"
        );
    }

    #[test]
    fn xlsx_is_a_zip_workbook() {
        let bytes = table().xlsx().unwrap();
        assert_eq!(&bytes[..2], b"PK");
        assert!(bytes.len() > 1000);
    }

    #[test]
    fn arrays_of_links_and_causes_become_words() {
        let links = serde_json::json!([{"id": "e1", "href": "/x"}, {"id": "e2", "href": "/y"}]);
        assert!(matches!(text(&links), Cell::Text(s) if s == "e1 e2"));
        let causes = serde_json::json!([{"cause": "supplier", "tickets": 2}]);
        assert!(matches!(text(&causes), Cell::Text(s) if s == "supplier×2"));
    }
}
