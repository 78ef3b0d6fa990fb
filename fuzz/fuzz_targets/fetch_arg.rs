//! Fuzz target: one fetch argument (`src/lang/fetch_arg.rs`) at every probe
//! site. Invariants: no panic; an accepted argument has a record size
//! within tracefs' limits and prints back (name and body) without error; a
//! rejected one has a positive errno and a caret inside the word, except
//! for the errors of a type that does not fit the fetch: tracefs places
//! those at the parse offset plus the type's offset, which can pass the end
//! of the word (never by more than its length).

#![no_main]

use libfuzzer_sys::fuzz_target;
use rprobes_core::lang::error::ErrorKind;
use rprobes_core::lang::fetch_arg::{parse_arg, ProbeSite};

fuzz_target!(|data: &[u8]| {
    let Some((&idx, rest)) = data.split_first() else {
        return;
    };
    let Ok(word) = core::str::from_utf8(rest) else {
        return;
    };
    for site in [
        ProbeSite::FunctionEntry,
        ProbeSite::FunctionReturn,
        ProbeSite::Other,
        ProbeSite::User,
    ] {
        match parse_arg(word, usize::from(idx % 160), site) {
            Ok(arg) => {
                assert!(arg.size() <= 3072 + 64, "size {} for {word:?}", arg.size());
                let mut s = String::new();
                arg.write_name(&mut s, word).unwrap();
                arg.write_body(&mut s, word).unwrap();
            }
            Err(e) => {
                let pe = e.at(0);
                let type_error = matches!(
                    pe.kind,
                    ErrorKind::BadBitfield | ErrorKind::BadString | ErrorKind::BadSymstring
                );
                let end = if type_error {
                    2 * word.len()
                } else {
                    word.len()
                };
                assert!(
                    pe.pos <= end + 1,
                    "caret {} ({:?}) past {word:?}",
                    pe.pos,
                    pe.kind
                );
                assert!(pe.errno > 0);
            }
        }
    }
});
