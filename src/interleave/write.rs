//! A schedule written back in the file's form, so a schedule built in code (the reproducer
//! that `repro` will shrink out of a failed stress run, issue 23 part 3) can be saved,
//! validated and run like a hand-written one. `parse(write(s))` gives `s` back.

use super::model::{Schedule, SessionKind};
use std::fmt::Write;

/// A TOML string literal, escaped.
fn lit(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

pub fn to_toml(s: &Schedule) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "name = {}", lit(&s.name));
    for (key, value) in [
        ("description", &s.description),
        ("rule", &s.rule),
        ("source", &s.source),
        ("known", &s.known),
    ] {
        if let Some(v) = value {
            let _ = writeln!(out, "{key} = {}", lit(v));
        }
    }
    if s.all_permutations {
        out.push_str("permutations = \"all\"\n");
    } else {
        let orders: Vec<String> = s
            .permutations
            .iter()
            .map(|p| {
                format!(
                    "[{}]",
                    p.iter().map(|&i| lit(&s.steps[i].name)).collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        let _ = writeln!(out, "permutations = [{}]", orders.join(", "));
    }
    let _ = writeln!(out, "step_timeout = \"{}ms\"", s.step_timeout.as_millis());
    if s.shared_instance {
        out.push_str("instance = \"shared\"\n");
    }
    let _ = writeln!(out, "\n[lake]\ncatalog = \"{}\"", s.lake.catalog.name());
    let _ = writeln!(out, "data = \"{}\"", format!("{:?}", s.lake.data).to_lowercase());
    if let Some(n) = s.lake.data_inlining_row_limit {
        let _ = writeln!(out, "data_inlining_row_limit = {n}");
    }
    for session in &s.sessions {
        let _ = writeln!(out, "\n[[sessions]]\nname = {}", lit(&session.name));
        if session.process {
            out.push_str("mode = \"process\"\n");
        }
        if session.kind == SessionKind::Catalog {
            out.push_str("kind = \"catalog\"\n");
        }
        if !session.connect_sql.is_empty() {
            let sql: Vec<String> = session.connect_sql.iter().map(|q| lit(q)).collect();
            let _ = writeln!(out, "sql = [{}]", sql.join(", "));
        }
    }
    if !s.setup.is_empty() {
        let sql: Vec<String> = s.setup.iter().map(|q| format!("  {},\n", lit(q))).collect();
        let _ = write!(out, "\n[setup]\nsql = [\n{}]\n", sql.concat());
    }
    write_steps(&mut out, s);
    write_invariants(&mut out, s);
    out
}

/// The `[[steps]]` tables, with each step's expectations.
fn write_steps(out: &mut String, s: &Schedule) {
    for step in &s.steps {
        let _ = write!(
            out,
            "\n[[steps]]\nsession = {}\nname = {}\nsql = {}\n",
            lit(&s.sessions[step.session].name),
            lit(&step.name),
            lit(&step.sql)
        );
        if let Some(e) = step.expect {
            let _ = writeln!(out, "expect = {}", lit(&e.describe()));
        }
        if let Some(n) = step.expect_rows {
            let _ = writeln!(out, "expect_rows = {n}");
        }
        if let Some(b) = step.expect_blocked {
            let _ = writeln!(out, "expect_blocked = {b}");
        }
    }
}

/// The `[[invariants]]` tables.
fn write_invariants(out: &mut String, s: &Schedule) {
    for inv in &s.invariants {
        let _ = write!(
            out,
            "\n[[invariants]]\nname = {}\nsql = {}\n",
            lit(&inv.name),
            lit(&inv.sql)
        );
        if let Some(n) = inv.expect_rows {
            let _ = writeln!(out, "expect_rows = {n}");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_shipped_schedule_survives_being_written_and_read_back() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/conflicts");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let s = super::super::load(&path).unwrap();
            let text = super::to_toml(&s);
            let back =
                super::super::parse::parse_str(&text, "written.toml").unwrap_or_else(|e| panic!("{e:#}\n{text}"));
            assert_eq!(
                serde_json::to_value(&back).unwrap(),
                serde_json::to_value(&s).unwrap(),
                "{text}"
            );
            n += 1;
        }
        assert!(n >= 10, "{n} schedules");
        let mut s = super::super::parse::parse_str(
            "name = \"q\"\n[[sessions]]\nname = \"a\"\n[[sessions]]\nname = \"h\"\nkind = \"catalog\"\n[[steps]]\n\
             session = \"a\"\nname = \"x\"\nsql = \"SELECT 'it''s \\\"quoted\\\"'\"\n\
             expect_rows = 1\nexpect_blocked = false\n",
            "q.toml",
        )
        .unwrap();
        s.lake.data_inlining_row_limit = Some(0);
        let back = super::super::parse::parse_str(&super::to_toml(&s), "q.toml").unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(&s).unwrap());
    }
}
