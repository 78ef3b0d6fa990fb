//! Fuzz target: the control-line parser (`src/lang/line.rs`, which also
//! runs the fetch-argument and user-probe-point parsers on the words of an
//! `add` line).
//!
//! Invariants: no panic; a rejected line has a caret inside the normalised
//! line, a positive errno and a printable `error_log` entry; an accepted
//! `add` line has a valid generated event name, a probe point that reads
//! back as a line that parses to the same probe point, and arguments that
//! each parse again on their own.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rprobes_core::lang::error::write_error_entry;
use rprobes_core::lang::lex::{is_good_name, normalise};
use rprobes_core::lang::line::{
    default_event_name, parse, write_target, Command, MAX_EVENT_NAME_LEN, MAX_LINE_LEN,
};

fuzz_target!(|data: &[u8]| {
    let Ok(line) = core::str::from_utf8(data) else {
        return;
    };
    match parse(line) {
        Err(e) => {
            let mut norm = [0u8; MAX_LINE_LEN + 2];
            let n = normalise(line, &mut norm);
            assert!(
                e.pos <= n.max(line.len()) + 1,
                "caret {} past {line:?}",
                e.pos
            );
            assert!(e.errno > 0);
            let mut log = String::new();
            write_error_entry(&mut log, line, &e).unwrap();
            assert!(log.starts_with("rprobes: error: "));
        }
        Ok(Command::Empty) | Ok(Command::Remove(_)) => {}
        Ok(Command::Add(def)) => {
            let name = default_event_name(&def);
            assert!(name.as_str().len() < MAX_EVENT_NAME_LEN);
            assert!(
                is_good_name(name.as_str()),
                "bad generated name {:?}",
                name.as_str()
            );
            let mut t = String::new();
            write_target(&mut t, &def.target).unwrap();
            let again = format!("p {t}");
            match parse(&again) {
                Ok(Command::Add(d2)) => assert_eq!(d2.target, def.target, "{again:?}"),
                other => panic!("{again:?} (from {line:?}) -> {other:?}"),
            }
            for a in def.args.iter() {
                let a = a.expect("validated arguments parse again");
                let mut body = String::new();
                a.arg.write_body(&mut body, a.word).unwrap();
            }
        }
    }
});
