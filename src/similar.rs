//! Closeness of names, for "did you mean" hints: a mistyped subcommand, resource or subject.

/// Levenshtein distance between `a` and `b`, by characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Up to `limit` of `candidates` within `max_distance` edits of `typed`, closest first (ties
/// in the order given), without repeats.
pub fn closest<'c>(
    typed: &str,
    candidates: impl IntoIterator<Item = &'c str>,
    max_distance: usize,
    limit: usize,
) -> Vec<&'c str> {
    let mut scored: Vec<(usize, usize, &str)> = candidates
        .into_iter()
        .enumerate()
        .map(|(i, c)| (edit_distance(typed, c), i, c))
        .filter(|(d, _, _)| *d <= max_distance)
        .collect();
    scored.sort();
    let mut out: Vec<&str> = Vec::new();
    for (_, _, c) in scored {
        if !out.contains(&c) && out.len() < limit {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_closest_names() {
        assert_eq!(edit_distance("pdos", "pods"), 2);
        assert_eq!(edit_distance("pod", "pods"), 1);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(
            closest("chek", ["check", "diff", "stats", "check"], 2, 3),
            vec!["check"]
        );
        assert_eq!(closest("xyz", ["check", "diff"], 2, 3), Vec::<&str>::new());
        assert_eq!(closest("ab", ["abc", "ab", "b"], 1, 2), vec!["ab", "abc"]);
    }
}
