// SPDX-License-Identifier: GPL-2.0

//! The trampoline's `pt_regs` layout check is a *build* failure: compile a
//! small crate that applies the same `const` assertion the module uses
//! (`trampoline.rs`) to a correct and to a reordered `pt_regs`, and expect
//! the second one not to build.

use rprobes_core::retprobes::frame::{frame_matches, offset, slot, FRAME_ORDER};
use std::process::Command;

#[test]
fn offsets_follow_the_push_order() {
    assert_eq!(slot("r15"), 0);
    assert_eq!(offset("orig_ax"), 15 * 8);
    assert_eq!(offset("ss"), 20 * 8);
    let good: [usize; 21] = core::array::from_fn(|i| i * 8);
    assert!(frame_matches(&good, 168));
    assert!(!frame_matches(&good, 176));
    let mut swapped = good;
    swapped.swap(3, 4);
    assert!(!frame_matches(&swapped, 168));
}

/// A crate with `pt_regs` declared with `fields` in that order, checked the
/// way `trampoline.rs` checks the bindgen one.
fn probe_crate(fields: &[&str]) -> String {
    let mut s = String::from("#![no_std]\n#[path = \"");
    s += concat!(env!("CARGO_MANIFEST_DIR"), "/src/retprobes/frame.rs");
    s += "\"]\nmod frame;\n#[repr(C)]\npub struct pt_regs {\n";
    for f in fields {
        s += &format!("    pub {f}: u64,\n");
    }
    s += "}\nconst OFFSETS: [usize; 21] = [\n";
    for f in FRAME_ORDER {
        s += &format!("    core::mem::offset_of!(pt_regs, {f}),\n");
    }
    s += "];\nconst _: () = assert!(\n    frame::frame_matches(&OFFSETS, \
          core::mem::size_of::<pt_regs>()),\n    \"pt_regs does not match the trampoline's \
          push order\"\n);\n";
    s
}

fn builds(src: &str, name: &str) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!("rprobes-frame-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("lib.rs");
    std::fs::write(&file, src).unwrap();
    let out = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args([
            "--edition",
            "2021",
            "--crate-type",
            "lib",
            "--emit",
            "metadata",
            "-o",
        ])
        .arg(dir.join("out.rmeta"))
        .arg(&file)
        .output()
        .expect("run rustc");
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_reordered_pt_regs_fails_the_build() {
    let (ok, err) = builds(&probe_crate(&FRAME_ORDER), "good");
    assert!(ok, "the real layout must build:\n{err}");

    // bp and bx swapped, as if the kernel reordered pt_regs.
    let mut reordered = FRAME_ORDER;
    reordered.swap(4, 5);
    let (ok, err) = builds(&probe_crate(&reordered), "swapped");
    assert!(!ok, "a reordered pt_regs must not build");
    assert!(
        err.contains("does not match the trampoline's push order"),
        "{err}"
    );

    // An extra field at the end (frame size changes).
    let mut longer: Vec<&str> = FRAME_ORDER.to_vec();
    longer.push("extra");
    let (ok, err) = builds(&probe_crate(&longer), "longer");
    assert!(!ok, "a longer pt_regs must not build");
    assert!(
        err.contains("does not match the trampoline's push order"),
        "{err}"
    );
}
