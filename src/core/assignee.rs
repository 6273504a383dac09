//! Assignee names: the IEEE registry spells one organization many ways
//! (`Hon Hai Precision Ind. Co.,Ltd.`, `Hon Hai Precision Industry Co., Ltd.`), so OUIs are
//! grouped by a normalized key. The rules are deliberately conservative: they merge spelling,
//! punctuation, case and legal-form variants only, never subsidiaries, divisions or sister
//! companies (`Huawei Device` and `HUAWEI TECHNOLOGIES` stay apart). docs/oui.md lists them.

use std::collections::HashMap;

/// Abbreviations written out before comparing (rule 3).
const EXPANSIONS: &[(&str, &str)] = &[
    ("co", "company"),
    ("corp", "corporation"),
    ("inc", "incorporated"),
    ("ind", "industry"),
    ("intl", "international"),
    ("ltd", "limited"),
    ("mfg", "manufacturing"),
    ("tech", "technology"),
    ("technologies", "technology"),
];

/// Legal forms dropped from the end of a name (rule 4). `corporate` is how Intel writes it.
const LEGAL_FORMS: &[&str] = &[
    "ab",
    "ag",
    "company",
    "corporate",
    "corporation",
    "gmbh",
    "incorporated",
    "kk",
    "limited",
    "llc",
    "ltda",
    "plc",
    "pte",
    "pty",
    "sa",
    "sarl",
    "sas",
    "sau",
    "spa",
    "srl",
];

/// The display form of a raw name: every run of whitespace (tabs, no-break and other Unicode
/// spaces included) becomes one space, and the ends are trimmed.
pub fn clean(raw: &str) -> String {
    raw.split(char::is_whitespace)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The grouping key of a name. Two names are one assignee when their keys are equal.
///
/// 1. Lower-case.
/// 2. Apostrophes and hyphens join (`INT'L` = `intl`, `LITE-ON` = `liteon`); every other
///    character that is not a letter or digit separates words (`.`, `,`, `，`, `(`, `&`, ...).
/// 3. Common abbreviations are written out (`Ind` = `industry`, `Co` = `company`, ...).
/// 4. Legal forms at the end are dropped, repeatedly (`Co., Ltd.`, `Inc.`, `Corporation`),
///    unless nothing would be left; a leading `the` is dropped.
pub fn key(raw: &str) -> String {
    let lower = raw.to_lowercase();
    let joined: String = lower
        .chars()
        .filter(|c| !matches!(c, '\'' | '\u{2019}' | '`' | '-' | '\u{2010}' | '\u{2011}'))
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let mut words: Vec<&str> = joined
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| {
            EXPANSIONS
                .iter()
                .find(|(short, _)| *short == w)
                .map_or(w, |(_, long)| long)
        })
        .collect();
    if words.len() > 1 && words[0] == "the" {
        words.remove(0);
    }
    while words.len() > 1 && words.last().is_some_and(|w| LEGAL_FORMS.contains(w)) {
        words.pop();
    }
    words.join(" ")
}

/// The name shown for a group: the spelling used by most of its rows, ties to the smallest
/// (bytewise), so the choice does not depend on row order.
pub fn display_name<'a>(spellings: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for s in spellings {
        *counts.entry(s).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|(a, na), (b, nb)| na.cmp(nb).then_with(|| b.cmp(a)))
        .map(|(s, _)| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &str, b: &str) {
        assert_eq!(key(a), key(b), "{a:?} vs {b:?}");
    }

    fn different(a: &str, b: &str) {
        assert_ne!(key(a), key(b), "{a:?} vs {b:?}");
    }

    #[test]
    fn merges_spelling_variants() {
        same(
            "Hon Hai Precision Ind. Co.,Ltd.",
            "Hon Hai Precision Industry Co., Ltd.",
        );
        same(
            "Hon Hai Precision IND.CO.,LTD",
            "Hon Hai Precision Ind. CO.,Ltd.",
        );
        same("Intel Corporate", "Intel Corporation");
        same(
            "Micro-Star INTL CO., LTD.",
            "MICRO-STAR INTERNATIONAL CO., LTD.",
        );
        same("Micro-Star INT'L CO.,LTD.", "Micro-Star International");
        same("AMPAK Technology, Inc.", "AMPAK Technology,Inc.");
        same("Liteon Technology Corporation", "LITE-ON Technology Corp.");
        same(
            "SHENZHEN BILIAN ELECTRONIC CO.，LTD",
            "Shenzhen Bilian electronic CO.,LTD",
        );
        same(
            "Shenzhen YOUHUA Technology Co., Ltd\t",
            "Shenzhen YOUHUA Technology Co., Ltd",
        );
        same(
            "Sichuan\u{a0}AI-Link\u{a0}Technology\u{a0}Co.,\u{a0}Ltd.",
            "Sichuan AI-Link Technology Co., Ltd.",
        );
        same("Samsung Electronics Co.,Ltd", "Samsung Electronics.,LTD");
        same("Dell Inc.", "Dell");
        same("The Linksys Group, Inc.", "Linksys Group");
        same("AzureWave Technologies, Inc.", "AzureWave Technology Inc.");
    }

    #[test]
    fn keeps_distinct_organizations_apart() {
        different("Huawei Device Co., Ltd.", "HUAWEI TECHNOLOGIES CO.,LTD");
        different("Dell EMC", "Dell Inc.");
        different(
            "Samsung Electronics Co., Ltd. ARTIK",
            "Samsung Electronics Co.,Ltd",
        );
        different(
            "HON HAI-CCPBG  PRECISION IND.CO.,LTD.",
            "Hon Hai Precision Ind. Co.,Ltd.",
        );
        different("Wistron Corporation", "Wistron Neweb Corporation");
        different("Intelbras", "Intel Corporate");
    }

    #[test]
    fn never_empties_a_name() {
        assert_eq!(key("Company"), "company");
        assert_eq!(key("Co., Ltd."), "company");
        assert_eq!(key("The"), "the");
    }

    #[test]
    fn clean_collapses_whitespace() {
        assert_eq!(
            clean("  DongGuan Siyoto Electronics Co., Ltd       "),
            "DongGuan Siyoto Electronics Co., Ltd"
        );
        assert_eq!(
            clean("SHENZHEN\u{2002}TONG BO WEI\u{2002}TECHNOLOGY\tCo."),
            "SHENZHEN TONG BO WEI TECHNOLOGY Co."
        );
    }

    #[test]
    fn display_name_is_the_majority_spelling_then_smallest() {
        let names = ["b", "a", "b", "a", "c"];
        assert_eq!(display_name(names).as_deref(), Some("a"));
        let mut rev = names;
        rev.reverse();
        assert_eq!(display_name(rev).as_deref(), Some("a"));
        assert_eq!(display_name(["x", "y", "y"]).as_deref(), Some("y"));
        assert_eq!(display_name([]), None);
    }
}
