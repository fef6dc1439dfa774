//! The access policy of the whole API: each service's table (`identity::policy`, ...) and the
//! endpoints every process serves, as one [`Policy`]; and the same table as the README shows it.

use platform::policy::{Access, Operation, Policy};

/// The tables of the services a process runs, with the endpoints every process serves.
pub fn tables(
    identity: bool,
    intake: bool,
    dispatch: bool,
    credit: bool,
) -> Vec<&'static [Operation]> {
    let mut tables = vec![platform::policy::PLATFORM];
    for (runs, table) in [
        (identity, identity::policy::POLICY),
        (intake, intake::policy::POLICY),
        (dispatch, dispatch::policy::POLICY),
        (credit, credit::policy::POLICY),
    ] {
        if runs {
            tables.push(table);
        }
    }
    tables
}

/// The policy of a process running every service.
pub fn whole() -> Policy {
    Policy::of(&tables(true, true, true, true))
}

/// The policy as a Markdown table: every operation with who may call it and how far.
pub fn markdown(policy: &Policy) -> String {
    let mut out = String::from("| operation | who (how far) | largest body |\n|---|---|---|\n");
    for op in policy.operations() {
        let who = match op.access {
            Access::Public => "anyone".to_owned(),
            Access::Signed(proof) => format!("whoever presents {proof}"),
            Access::Roles(grants) => grants
                .iter()
                .map(|(role, reach)| format!("{} ({})", role.as_str(), reach.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let body = if op.method == "GET" {
            "–".to_owned()
        } else if op.body_limit >= 1024 * 1024 {
            format!("{} MiB", op.body_limit / (1024 * 1024))
        } else {
            format!("{} KiB", op.body_limit / 1024)
        };
        out.push_str(&format!(
            "| `{} {}` | {who} | {body} |\n",
            op.method, op.path
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEGIN: &str = "<!-- policy table: generated from the code, checked by a test -->\n";
    const END: &str = "<!-- end of policy table -->";

    #[test]
    fn every_documented_operation_has_a_row_and_the_tables_do_not_overlap() {
        let document = serde_json::to_value(crate::docs::document()).unwrap();
        let policy = whole();
        let mut missing = Vec::new();
        for (path, operations) in document["paths"].as_object().unwrap() {
            for method in operations.as_object().unwrap().keys() {
                let method = method.to_uppercase();
                if policy.operation(&method, path).is_none() {
                    missing.push(format!("{method} {path}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "operations with no policy row: {missing:?}"
        );
        let rows: usize = tables(true, true, true, true).iter().map(|t| t.len()).sum();
        assert_eq!(
            policy.operations().len(),
            rows,
            "two tables name one operation"
        );
    }

    #[test]
    fn the_readme_shows_the_policy_as_the_code_has_it() {
        let readme = include_str!("../../../README.md");
        let start = readme.find(BEGIN).expect("the README has the policy table") + BEGIN.len();
        let end = start + readme[start..].find(END).expect("the table ends");
        let expected = markdown(&whole());
        assert!(
            readme[start..end] == expected,
            "README.md's policy table is stale; between its markers it should read:\n{expected}"
        );
    }
}
