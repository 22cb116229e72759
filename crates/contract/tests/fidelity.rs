//! `docs/fidelity.md` names, row by row, the suite check that holds a
//! server to each documented behaviour. The names must stay true: every
//! check a row names exists (as `rafiki-contract list-checks` prints it),
//! and every check the suite has is named by some row. And every refusal
//! the suite may *fail* a server for (`rafiki_rules::documented`) rests on
//! a row that exists and is not one of our own decisions.

use std::collections::BTreeSet;
use std::process::Command;

/// The check names `rafiki-contract list-checks` prints (the first word of
/// each unindented line but the section headings, which end with `:`).
fn listed_checks() -> BTreeSet<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_rafiki-contract"))
        .arg("list-checks")
        .output()
        .expect("run rafiki-contract list-checks");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .filter(|line| !line.starts_with(' ') && !line.ends_with(':'))
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// The matrix's "check" cells: the sixth cell of every table row whose
/// first cell is a row id such as `AUTH-2`.
fn check_cells(matrix: &str) -> Vec<(String, String)> {
    matrix
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // "| id | behaviour | source | spec | mock test | check | status |"
            let id = *cells.get(1)?;
            let is_row_id = id.split_once('-').is_some_and(|(area, n)| {
                !area.is_empty()
                    && area.chars().all(|c| c.is_ascii_uppercase())
                    && n.parse::<u32>().is_ok()
            });
            (is_row_id && cells.len() == 9).then(|| (id.to_owned(), cells[6].to_owned()))
        })
        .collect()
}

/// The matrix's rows: id and status (the last cell).
fn statuses(matrix: &str) -> Vec<(String, String)> {
    matrix
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let id = *cells.get(1)?;
            (check_cells(line).len() == 1).then(|| (id.to_owned(), cells[7].to_owned()))
        })
        .collect()
}

/// Words that look like check names: lower-case words joined by `_`,
/// outside backticks (`wallet_id` in backticks is a field, and a path in
/// backticks is a file).
fn names_in(cell: &str) -> impl Iterator<Item = &str> {
    cell.split('`')
        .step_by(2)
        .flat_map(|prose| {
            prose.split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        })
        .filter(|word| word.contains('_') && !word.starts_with('_') && !word.ends_with('_'))
}

#[test]
fn every_check_the_matrix_names_exists_and_every_check_is_named() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/fidelity.md");
    let matrix = std::fs::read_to_string(path).expect("docs/fidelity.md");
    let listed = listed_checks();
    assert!(listed.len() >= 20, "list-checks printed {listed:?}");
    let cells = check_cells(&matrix);
    assert!(cells.len() >= 50, "the matrix's rows were not found");
    let mut named = BTreeSet::new();
    let mut unknown = Vec::new();
    for (id, cell) in &cells {
        for name in names_in(cell) {
            if listed.contains(name) {
                named.insert(name.to_owned());
            } else {
                unknown.push(format!("{id}: {name}"));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "docs/fidelity.md names checks that `rafiki-contract list-checks` does not list: {unknown:?}"
    );
    // A session check judges the proxy's own session (did any traffic pass
    // through it), not a documented behaviour: no row is its to verify.
    let session: BTreeSet<String> = ["traffic_judged".to_owned()].into();
    let unnamed: Vec<&String> = listed
        .difference(&named)
        .filter(|n| !session.contains(*n))
        .collect();
    assert!(
        unnamed.is_empty(),
        "checks no row of docs/fidelity.md names (add them to the rows they verify): {unnamed:?}"
    );
}

#[test]
fn every_documented_refusal_cites_a_row_that_is_not_ours() {
    use rafiki_rules::Rule;
    use rafiki_rules::documented::{fidelity_row, is_documented_refusal};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/fidelity.md");
    let matrix = std::fs::read_to_string(path).expect("docs/fidelity.md");
    let rows = statuses(&matrix);
    let mut problems = Vec::new();
    for rule in Rule::ALL {
        match fidelity_row(rule) {
            None => {
                // Ours: never a documented refusal, whatever the value.
                if is_documented_refusal(rule, None) {
                    problems.push(format!("{rule:?} is refused as documented without a row"));
                }
            }
            Some(id) => match rows.iter().find(|(row, _)| row == id) {
                None => problems.push(format!("{rule:?} cites {id}, which is no row")),
                Some((_, status))
                    if status.contains("ours") || status.starts_with("out of scope") =>
                {
                    problems.push(format!("{rule:?} cites {id}, whose status is `{status}`"))
                }
                Some(_) => {}
            },
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_cell_reader_finds_names_and_ignores_prose() {
    let row =
        "| TR-3 | body | page | spec | mock | content_type_required (at `wallet_id`) | covered |";
    assert_eq!(
        check_cells(row),
        [(
            "TR-3".to_owned(),
            "content_type_required (at `wallet_id`)".to_owned()
        )]
    );
    let cells = check_cells(row);
    let names: Vec<&str> = names_in(&cells[0].1).collect();
    assert_eq!(names, ["content_type_required"]);
    let names: Vec<&str> =
        names_in("— (any base URL; tenant_isolation asks; `a_file.rs`)").collect();
    assert_eq!(names, ["tenant_isolation"]);
    assert!(
        check_cells("| id | behaviour | source | spec | mock test | check | status |").is_empty()
    );
}
