//! Counts in words for messages people read: "1 rule", "2 rules", "seen once".

/// `n` and `noun`, in the plural unless `n` is 1: `plural(1, "rule")` is "1 rule".
pub fn plural(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else if let Some(stem) = noun
        .strip_suffix('y')
        .filter(|s| !s.ends_with(['a', 'e', 'o', 'u']))
    {
        format!("{n} {stem}ies")
    } else if noun.ends_with('s') || noun.ends_with("sh") || noun.ends_with("ch") {
        format!("{n} {noun}es")
    } else {
        format!("{n} {noun}s")
    }
}

/// "once", "twice", "N times".
pub fn times(n: u64) -> String {
    match n {
        1 => "once".to_string(),
        2 => "twice".to_string(),
        n => format!("{n} times"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singular_and_plural() {
        assert_eq!(plural(1u64, "rule"), "1 rule");
        assert_eq!(plural(0u64, "rule"), "0 rules");
        assert_eq!(plural(3u32, "file"), "3 files");
        assert_eq!(plural(2u64, "entry"), "2 entries");
        assert_eq!(plural(2u64, "key"), "2 keys");
        assert_eq!(plural(2u64, "class"), "2 classes");
        assert_eq!(times(1), "once");
        assert_eq!(times(2), "twice");
        assert_eq!(times(7), "7 times");
    }
}
