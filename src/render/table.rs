//! Tables as kubectl prints them: columns two spaces apart, the last one unpadded.

use crate::error::{Error, Result};
use crate::render::terminal::printable;

/// `rows` (the first is the header) as lines of columns two spaces apart, the last column
/// unpadded.
pub fn table_lines(rows: &[Vec<String>]) -> Vec<String> {
    // Cells come from dumps and logs: no control character reaches the terminal.
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| printable(c).into_owned()).collect())
        .collect();
    let rows = rows.as_slice();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if i + 1 < row.len() {
                    let pad = widths[i] - cell.chars().count() + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            line
        })
        .collect()
}

/// Writes `rows` as [`table_lines`] formats them.
pub fn write_table(out: &mut dyn std::io::Write, rows: &[Vec<String>]) -> Result<()> {
    for line in table_lines(rows) {
        writeln!(out, "{line}").map_err(Error::output)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_the_last_is_unpadded() {
        let rows: Vec<Vec<String>> = [["A", "BB", "C"], ["long", "x", "y"]]
            .iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect())
            .collect();
        assert_eq!(table_lines(&rows), vec!["A     BB  C", "long  x   y"]);
    }
}
