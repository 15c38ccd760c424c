//! The runner's command line: parsed into [`Options`] before anything is measured or
//! written, so a typo costs an error message, never a run (or an overwritten report).

use std::fmt::Write as _;

/// What one invocation asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Samples a tenth of the size and 3 rounds: a smoke run whose ratios mean nothing.
    pub quick: bool,
    /// The sections to run, in the runner's order (all of them when `--only` is absent).
    pub sections: Vec<&'static str>,
    /// Whether `--only` narrowed `sections`.
    pub only: bool,
    /// Complete runs of every chosen section, back to back (for the range over runs).
    pub runs: usize,
    /// Write `BENCHMARKS.md`, the README's summary and the charts in the repository.
    pub publish: bool,
}

/// Parsing ended without a run: print `message`, exit with `code`.
#[derive(Debug, PartialEq)]
pub struct Exit {
    pub message: String,
    /// 0 for `--help`, 2 for a usage error.
    pub code: u8,
}

/// Parses `args` (without the program name) against the known `sections`.
pub fn parse(
    args: impl IntoIterator<Item = String>,
    sections: &[&'static str],
) -> Result<Options, Exit> {
    let mut opts = Options {
        quick: false,
        sections: Vec::new(),
        only: false,
        runs: 1,
        publish: false,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // `--only=spsc` and `--only spsc` alike.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| usage_error(&format!("{flag} needs {what}"), sections))
        };
        match flag.as_str() {
            "--quick" if inline.is_none() => opts.quick = true,
            "--publish" if inline.is_none() => opts.publish = true,
            "--only" => {
                for name in value("a section name")?.split(',') {
                    let Some(&known) = sections.iter().find(|s| **s == name) else {
                        return Err(usage_error(&format!("unknown section {name:?}"), sections));
                    };
                    if !opts.sections.contains(&known) {
                        opts.sections.push(known);
                    }
                }
                opts.only = true;
            }
            "--runs" => {
                let v = value("a number of runs")?;
                opts.runs = match v.parse::<usize>() {
                    Ok(n) if (1..=20).contains(&n) => n,
                    _ => {
                        return Err(usage_error(
                            &format!("--runs takes a number from 1 to 20, not {v:?}"),
                            sections,
                        ));
                    }
                };
            }
            "-h" | "--help" if inline.is_none() => {
                return Err(Exit {
                    message: usage(sections),
                    code: 0,
                });
            }
            _ => {
                return Err(usage_error(&format!("unknown argument {arg:?}"), sections));
            }
        }
    }
    if opts.publish && (opts.quick || opts.only) {
        return Err(usage_error(
            "--publish writes the committed results: it needs a full run of every section \
             (no --quick, no --only)",
            sections,
        ));
    }
    if opts.sections.is_empty() {
        opts.sections = sections.to_vec();
    } else {
        // The runner's order, whatever the order on the command line.
        opts.sections = sections
            .iter()
            .copied()
            .filter(|s| opts.sections.contains(s))
            .collect();
    }
    Ok(opts)
}

fn usage_error(problem: &str, sections: &[&str]) -> Exit {
    Exit {
        message: format!("compare: {problem}\n\n{}", usage(sections)),
        code: 2,
    }
}

/// The help text, with the commands exactly as typed.
pub fn usage(sections: &[&str]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "usage: cargo run --release --example compare -- [--quick] [--only SECTION[,SECTION...]] [--runs N] [--publish]\n"
    );
    let _ = writeln!(
        s,
        "  --quick       smoke run: samples a tenth of the size, 3 rounds; the ratios are NOT meaningful"
    );
    let _ = writeln!(
        s,
        "  --only S      run only these sections (repeat it, or separate names with commas)"
    );
    let _ = writeln!(
        s,
        "  --runs N      N complete runs back to back (1 to 20; default 1): the report gives each ratio's range over the runs"
    );
    let _ = writeln!(
        s,
        "  --publish     also write BENCHMARKS.md, the README's results summary and the charts in docs/benchmarks/"
    );
    let _ = writeln!(
        s,
        "                (a full run only: not with --quick or --only)"
    );
    let _ = writeln!(s, "\nsections: {}", sections.join(", "));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECTIONS: &[&str] = &["spsc", "mutex", "hash_map"];

    fn parse_str(args: &str) -> Result<Options, Exit> {
        parse(args.split_whitespace().map(String::from), SECTIONS)
    }

    #[test]
    fn no_arguments_run_every_section_once() {
        let o = parse_str("").unwrap();
        assert_eq!(o.sections, SECTIONS);
        assert!(!o.quick && !o.only && !o.publish);
        assert_eq!(o.runs, 1);
    }

    /// The message of a usage error: exit code 2, the usage with the valid sections.
    fn rejected(args: &str) -> String {
        let e = parse_str(args).unwrap_err();
        assert_eq!(e.code, 2, "{args}");
        let listed = e.message.contains("sections: spsc, mutex, hash_map");
        assert!(listed, "{args}: the usage follows: {}", e.message);
        e.message
    }

    #[test]
    fn unknown_section_is_an_error_that_lists_the_valid_ones() {
        let m = rejected("--only hashmap");
        assert!(m.contains("unknown section \"hashmap\""), "{m}");
    }

    #[test]
    fn unknown_flag_is_an_error() {
        for bad in ["--quik", "--bench", "quick", "--quick=yes", "-q"] {
            let m = rejected(bad);
            assert!(m.contains("unknown argument"), "{bad}: {m}");
        }
    }

    #[test]
    fn only_takes_a_value_in_either_form_and_keeps_the_runner_order() {
        let o = parse_str("--only hash_map,spsc").unwrap();
        assert_eq!(o.sections, ["spsc", "hash_map"]);
        assert!(o.only);
        let o = parse_str("--only=mutex --only spsc --only mutex").unwrap();
        assert_eq!(o.sections, ["spsc", "mutex"]);
        rejected("--only");
    }

    #[test]
    fn runs_must_be_a_small_positive_number() {
        assert_eq!(parse_str("--runs 3").unwrap().runs, 3);
        assert_eq!(parse_str("--runs=2").unwrap().runs, 2);
        for bad in ["--runs 0", "--runs x", "--runs 21", "--runs"] {
            rejected(bad);
        }
    }

    #[test]
    fn publish_needs_a_full_run() {
        assert!(parse_str("--publish --runs 3").unwrap().publish);
        assert!(rejected("--publish --quick").contains("needs a full run"));
        assert!(rejected("--only spsc --publish").contains("needs a full run"));
    }

    #[test]
    fn help_exits_zero_with_the_exact_command() {
        let e = parse_str("--help").unwrap_err();
        assert_eq!(e.code, 0);
        assert!(
            e.message
                .contains("cargo run --release --example compare -- ")
        );
    }
}
