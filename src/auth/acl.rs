//! ACLs: which ACL a request needs, and whether a token's ACL patterns grant
//! it. Words are dot-separated. In a pattern, `*` stands for exactly one word,
//! `#` for one or more words, and the word `me` for the token's own user (its
//! uuid or its id).

use crate::http::Method;

/// `confd.<path words>.<action>`: `GET /1.1/users` needs `confd.users.read`,
/// `PUT /1.1/users/7` needs `confd.users.7.update`.
pub fn required_for(service: &str, path_words: &[&str], method: Method) -> String {
    let action = match method {
        Method::Get | Method::Head => "read",
        Method::Post => "create",
        Method::Put => "update",
        Method::Delete => "delete",
        Method::Other => "other",
    };
    let mut acl = String::with_capacity(64);
    acl.push_str(service);
    for word in path_words {
        acl.push('.');
        acl.push_str(word);
    }
    acl.push('.');
    acl.push_str(action);
    acl
}

/// Whether any of `patterns` grants `required`; `me` lists what the word
/// `me` in a pattern may stand for.
pub fn granted(patterns: &[String], required: &str, me: &[String]) -> bool {
    let required: Vec<&str> = required.split('.').collect();
    patterns.iter().any(|pattern| {
        let words: Vec<&str> = pattern.split('.').collect();
        matches(&words, &required, me)
    })
}

fn matches(pattern: &[&str], required: &[&str], me: &[String]) -> bool {
    match pattern.split_first() {
        None => required.is_empty(),
        Some((&"#", rest)) => {
            // one or more words, then the rest of the pattern
            (1..=required.len()).any(|taken| matches(rest, &required[taken..], me))
        }
        Some((word, rest)) => match required.split_first() {
            None => false,
            Some((first, remaining)) => {
                let word_ok = match *word {
                    "*" => !first.is_empty(),
                    "me" => me.iter().any(|m| m == first),
                    literal => literal == *first,
                };
                word_ok && matches(rest, remaining, me)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(patterns: &[&str], required: &str) -> bool {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        granted(&patterns, required, &["123".to_string(), "7".to_string()])
    }

    #[test]
    fn required_acl_follows_the_path() {
        assert_eq!(
            required_for("confd", &["users"], Method::Get),
            "confd.users.read"
        );
        assert_eq!(
            required_for("confd", &["users", "7"], Method::Put),
            "confd.users.7.update"
        );
        assert_eq!(
            required_for("confd", &["users", "7"], Method::Delete),
            "confd.users.7.delete"
        );
        assert_eq!(
            required_for("confd", &["users"], Method::Post),
            "confd.users.create"
        );
    }

    #[test]
    fn hash_is_one_or_more_words() {
        assert!(!grants(&["foo.bar.#"], "foo.bar"));
        assert!(grants(&["foo.bar.#"], "foo.bar.toto"));
        assert!(grants(&["foo.bar.#"], "foo.bar.toto.tata"));
        assert!(!grants(&["foo.bar.#"], "other.bar.toto"));
        assert!(grants(&["foo.bar.#.titi"], "foo.bar.toto.tata.titi"));
        assert!(!grants(&["foo.bar.#.titi"], "foo.bar.titi"));
        assert!(grants(&["confd.#"], "confd.users.7.update"));
    }

    #[test]
    fn star_is_exactly_one_word() {
        assert!(grants(&["foo.*.*"], "foo.bar.toto"));
        assert!(!grants(&["foo.*.*"], "foo.bar.toto.tata"));
        assert!(grants(&["confd.users.*.read"], "confd.users.42.read"));
        assert!(!grants(&["confd.users.*.read"], "confd.users.read"));
    }

    #[test]
    fn literals_match_only_themselves() {
        assert!(grants(&["foo.bar.toto"], "foo.bar.toto"));
        assert!(!grants(&["foo.bar.toto"], "foo.bar.toto.tata"));
        assert!(grants(&["foo", "foo.bar.toto", "other.#"], "foo"));
        assert!(!grants(&["foo", "foo.bar.toto", "other.#"], "foo.bar"));
        assert!(grants(
            &["foo", "foo.bar.toto", "other.#"],
            "other.bar.toto"
        ));
        assert!(!grants(&[], "foo"));
    }

    #[test]
    fn me_is_the_tokens_user() {
        assert!(grants(&["foo.#.me"], "foo.bar.123"));
        assert!(grants(&["foo.#.me"], "foo.bar.toto.123"));
        assert!(!grants(&["foo.#.me"], "foo.bar"));
        assert!(!grants(&["foo.#.me"], "foo.bar.toto.123.titi"));
        assert!(grants(&["foo.#.me.bar"], "foo.bar.123.bar"));
        assert!(!grants(&["foo.#.me.bar"], "foo.bar.me.bar"));
        assert!(grants(&["confd.users.me.read"], "confd.users.7.read"));
        assert!(!grants(&["confd.users.me.read"], "confd.users.8.read"));
    }
}
