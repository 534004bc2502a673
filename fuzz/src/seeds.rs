//! Seeds the targets make with the project's own code (signed notes, tiles, bundles): run a target
//! with `SIG_SHARE_FUZZ_WRITE_SEEDS=DIR` and `-runs=0`, and its setup writes them there.

use std::path::Path;

/// Writes `seeds` to `$SIG_SHARE_FUZZ_WRITE_SEEDS/<name>-<n>` when that is set.
pub fn write_if_asked(name: &str, seeds: impl FnOnce() -> Vec<Vec<u8>>) {
    let Some(dir) = std::env::var_os("SIG_SHARE_FUZZ_WRITE_SEEDS") else { return };
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir).expect("creating the seed directory");
    for (i, seed) in seeds().into_iter().enumerate() {
        std::fs::write(dir.join(format!("{name}-{i:02}")), seed).expect("writing a seed");
    }
}
