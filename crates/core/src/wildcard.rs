//! `*` and `?` wildcards, as the shell matches one path component and OpenSSH matches a
//! principal pattern. Hand-written: a glob crate would be one more dependency for these two
//! wildcards (classes `[...]` match literally).

/// Whether `text` matches `pattern`, a character at a time.
pub fn matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    matches_by(&p, &t, '?', '*')
}

/// Whether `text` matches `pattern` over any units (bytes, as OpenSSH compares, or
/// characters): `one` stands for any one unit, `run` for any run of them.
pub fn matches_by<T: Copy + PartialEq>(pattern: &[T], text: &[T], one: T, run: T) -> bool {
    let (p, s) = (pattern, text);
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == one || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == run {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_question_marks() {
        assert!(matches("*.conf", "site.conf"));
        assert!(!matches("*.conf", "site.conf.bak"));
        assert!(matches("*", "x") && matches("*", ""));
        assert!(matches("a?c*", "abcdef"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("a*b*c", "axxbyyc") && !matches("a*b*c", "axxbyy"));
        assert!(matches("a?", "aé"), "a character at a time");
        assert!(
            !matches_by(b"a?", "aé".as_bytes(), b'?', b'*'),
            "a byte at a time"
        );
    }
}
