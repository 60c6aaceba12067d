//! Property tests over subject names: whatever the subject (slashes, `..`, NUL, newlines,
//! unicode, hundreds of characters), object names are valid path segments of at most 253
//! characters, label values are valid and at most 63, and `--out-dir` file names are safe
//! and distinct.

use audit2role::generate::names::{
    label_value, object_name, valid_label_value, DEFAULT_NAME_TEMPLATE,
};
use audit2role::render::outdir::file_names;
use proptest::prelude::*;
use std::collections::BTreeSet;

fn subject() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9:@._/ \\-]{0,40}",
        "\\PC{0,300}",
        ".{0,10}(\\.\\.|/|\u{0}|\n|\r)+.{0,10}",
        "[a-z]{250,400}",
        "system:serviceaccount:[a-z0-9-]{1,20}:[a-z0-9.-]{1,30}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn object_names_are_valid_path_segments(s in subject()) {
        let name = object_name(DEFAULT_NAME_TEMPLATE, &s);
        prop_assert!(!name.is_empty() && name.len() <= 253, "{name:?}");
        prop_assert!(name != "." && name != "..");
        prop_assert!(!name.contains('/') && !name.contains('%'));
        prop_assert!(!name.chars().any(char::is_control));
    }

    #[test]
    fn label_values_are_valid(s in subject()) {
        let v = label_value(&s);
        prop_assert!(valid_label_value(&v) && !v.is_empty() && v.len() <= 63, "{v:?}");
    }

    #[test]
    fn file_names_are_safe_and_distinct(subjects in proptest::collection::btree_set(subject(), 1..8)) {
        let list: Vec<&str> = subjects.iter().map(String::as_str).collect();
        let names = file_names(&list, "yaml");
        let distinct: BTreeSet<&String> = names.values().collect();
        prop_assert_eq!(distinct.len(), subjects.len());
        for n in names.values() {
            prop_assert!(n.ends_with(".yaml") && n.len() <= 240, "{n:?}");
            prop_assert!(n.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)), "{n:?}");
            prop_assert!(!n.starts_with('.'));
        }
    }
}
