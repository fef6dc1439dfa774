//! Times in China time, durations and numbers as zh-CN (or English) readers write them.

use chrono::{DateTime, FixedOffset, Utc};

use crate::i18n::Lang;

/// China Standard Time (UTC+8, no daylight saving).
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("a valid offset")
}

/// A moment in China time: `2026年12月2日 08:05` or `2026-12-02 08:05`.
pub fn moment(lang: Lang, at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&china());
    match lang {
        Lang::Zh => local.format("%Y年%-m月%-d日 %H:%M").to_string(),
        Lang::En => local.format("%Y-%m-%d %H:%M").to_string(),
    }
}

/// A moment from an RFC 3339 text (as the API sends it); the text itself when it is not one.
pub fn moment_text(lang: Lang, text: &str) -> String {
    DateTime::parse_from_rfc3339(text)
        .map(|t| moment(lang, t.to_utc()))
        .unwrap_or_else(|_| text.to_owned())
}

/// A length of time in its two largest units: `2小时15分`, `3天4小时`, `45秒`; `2 h 15 min`.
pub fn duration(lang: Lang, seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    let zh = lang == Lang::Zh;
    let unit = |n: u64, zh_unit: &str, en_unit: &str| {
        if zh {
            format!("{n}{zh_unit}")
        } else {
            format!("{n} {en_unit}")
        }
    };
    let parts: Vec<String> = if d > 0 {
        vec![unit(d, "天", "d"), unit(h, "小时", "h")]
    } else if h > 0 {
        vec![unit(h, "小时", "h"), unit(m, "分", "min")]
    } else if m > 0 {
        vec![unit(m, "分钟", "min")]
    } else {
        vec![unit(s, "秒", "s")]
    };
    parts.join(if zh { "" } else { " " })
}

/// A whole number with thousands separators (`12,345`), as zh-CN and English both write it.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An SLA target as the API words it (`30 min`, `8 h`, `2 d`, `5 working days`,
/// `reported`), in the reader's language.
pub fn target(lang: Lang, words: &str) -> String {
    if lang == Lang::En {
        return words.to_owned();
    }
    if words == "reported" {
        return "仅记录（无时限）".to_owned();
    }
    let Some((number, unit)) = words.split_once(' ') else {
        return words.to_owned();
    };
    let unit = match unit {
        "min" => "分钟",
        "h" => "小时",
        "d" => "天",
        "working days" => "个工作日",
        _ => return words.to_owned(),
    };
    format!("{number}{unit}")
}

/// A temperature with one decimal: `19.0 °C` (not `℃`: WenQuanYi Micro Hei, the CJK font of
/// many Linux desktops, draws that sign blank).
pub fn celsius(value: f64) -> String {
    format!("{value:.1} °C")
}

/// An amount in fen as yuan with two decimals and thousands separators: `¥1,547.00`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    format!("{sign}¥{}.{:02}", count((fen / 100) as i64), fen % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_china_time() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T18:30:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(moment(Lang::Zh, at), "2026年12月2日 02:30");
        assert_eq!(moment(Lang::En, at), "2026-12-02 02:30");
    }

    #[test]
    fn durations_show_their_two_largest_units() {
        assert_eq!(duration(Lang::Zh, 8100), "2小时15分");
        assert_eq!(duration(Lang::Zh, -45), "45秒");
        assert_eq!(duration(Lang::Zh, 3 * 86_400 + 4 * 3600), "3天4小时");
        assert_eq!(duration(Lang::En, 1800), "30 min");
    }

    #[test]
    fn targets_are_worded_for_the_reader() {
        assert_eq!(target(Lang::Zh, "30 min"), "30分钟");
        assert_eq!(target(Lang::Zh, "5 working days"), "5个工作日");
        assert_eq!(target(Lang::Zh, "reported"), "仅记录（无时限）");
        assert_eq!(target(Lang::En, "8 h"), "8 h");
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(100_000), "100,000");
        assert_eq!(count(999), "999");
        assert_eq!(count(-1234), "-1,234");
    }

    #[test]
    fn amounts_in_fen_read_as_yuan() {
        assert_eq!(yuan(154_700), "¥1,547.00");
        assert_eq!(yuan(309), "¥3.09");
        assert_eq!(yuan(-1_895), "-¥18.95");
    }
}
