//! `spoor models pack FILE` / `spoor models install FILE`: everything the models need (the
//! ONNX Runtime library, the model files, the manifest) in one zip for a lab with no network,
//! and its installation there with every file's digest checked.
//!
//! The archive holds `pack.json` (each file's path, size and SHA-256) and the files. Install
//! takes only the paths `pack.json` names (no `..`, no absolute paths), checks each against
//! `pack.json` and against the manifest's pinned digest where it has one, and writes each file
//! whole or not at all.

use std::io::{Read, Write};
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

use super::manifest::{self, Manifest};

#[derive(Serialize, Deserialize)]
struct PackIndex {
    tool: String,
    files: Vec<PackedFile>,
}

#[derive(Serialize, Deserialize)]
struct PackedFile {
    path: String,
    size: u64,
    sha256: String,
}

/// Writes the pack of `models_dir` to `out`; returns the number of files and bytes.
pub fn pack(models_dir: &Path, out: &Path) -> Result<(usize, u64), String> {
    let m = Manifest::load(models_dir)?;
    let mut paths = vec![
        manifest::FILE.to_string(),
        format!("lib/{}", super::LIBRARY_FILE),
    ];
    // Every model file there is (with the further files of multi-file heads), the gazetteer,
    // and the licences that came with them.
    for e in &m.models {
        let files = std::iter::once(e.file.clone()).chain(e.parts.values().map(|p| p.file.clone()));
        paths.extend(files.filter(|f| models_dir.join(f).is_file()));
    }
    if models_dir.join(crate::places::GAZETTEER_FILE).is_file() {
        paths.push(crate::places::GAZETTEER_FILE.to_string());
    }
    if let Ok(dir) = std::fs::read_dir(models_dir.join("licenses")) {
        let mut licences: Vec<String> = dir
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| format!("licenses/{}", e.file_name().to_string_lossy()))
            .collect();
        licences.sort();
        paths.extend(licences);
    }
    if !models_dir.join(&paths[1]).is_file() {
        return Err(format!(
            "{}: no ONNX Runtime library to pack (run scripts/fetch-models.sh)",
            models_dir.join(&paths[1]).display()
        ));
    }
    let mut files = Vec::new();
    for p in &paths {
        let full = models_dir.join(p);
        let size = std::fs::metadata(&full)
            .map_err(|e| format!("{}: {e}", full.display()))?
            .len();
        files.push(PackedFile {
            path: p.clone(),
            size,
            sha256: super::file_sha256(&full)?,
        });
    }
    let index = PackIndex {
        tool: format!("spoor {}", crate::TOOL_VERSION),
        files,
    };
    let tmp = out.with_extension("part");
    let result = (|| -> Result<(), String> {
        let f = std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        let mut z = zip::ZipWriter::new(f);
        // ONNX weights barely compress; storing keeps packing and installing at disk speed.
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        let err = |e: zip::result::ZipError| format!("{}: {e}", tmp.display());
        z.start_file("pack.json", opts).map_err(err)?;
        z.write_all(&serde_json::to_vec_pretty(&index).unwrap_or_default())
            .map_err(|e| e.to_string())?;
        for f in &index.files {
            z.start_file(f.path.as_str(), opts).map_err(err)?;
            let mut src = std::fs::File::open(models_dir.join(&f.path))
                .map_err(|e| format!("{}: {e}", f.path))?;
            std::io::copy(&mut src, &mut z).map_err(|e| format!("{}: {e}", f.path))?;
        }
        z.finish().map_err(err)?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, out).map_err(|e| format!("{}: {e}", out.display()))?;
    let bytes = index.files.iter().map(|f| f.size).sum();
    Ok((index.files.len(), bytes))
}

/// Installs a pack into `models_dir`, checking every digest; returns the number of files.
pub fn install(pack_file: &Path, models_dir: &Path) -> Result<usize, String> {
    let f = std::fs::File::open(pack_file).map_err(|e| format!("{}: {e}", pack_file.display()))?;
    let mut z = zip::ZipArchive::new(f).map_err(|e| format!("{}: {e}", pack_file.display()))?;
    let index: PackIndex = {
        let mut entry = z.by_name("pack.json").map_err(|_| {
            format!(
                "{}: not a spoor model pack (no pack.json)",
                pack_file.display()
            )
        })?;
        let mut text = String::new();
        entry
            .read_to_string(&mut text)
            .map_err(|e| format!("pack.json: {e}"))?;
        serde_json::from_str(&text).map_err(|e| format!("pack.json: {e}"))?
    };
    for f in &index.files {
        let p = Path::new(&f.path);
        if p.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(format!("pack names an unsafe path {:?}: refused", f.path));
        }
    }
    // Check everything into temporary files first: a bad pack installs nothing.
    std::fs::create_dir_all(models_dir).map_err(|e| format!("{}: {e}", models_dir.display()))?;
    let mut staged = Vec::new();
    let outcome = (|| -> Result<(), String> {
        for f in &index.files {
            let dest = models_dir.join(&f.path);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            let tmp = dest.with_extension("installing");
            let mut entry = z.by_name(&f.path).map_err(|e| format!("{}: {e}", f.path))?;
            let mut out =
                std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
            staged.push((tmp.clone(), dest));
            // Never more than the index says: a lying entry cannot fill the disk.
            let copied = std::io::copy(&mut (&mut entry).take(f.size + 1), &mut out)
                .map_err(|e| format!("{}: {e}", f.path))?;
            if copied != f.size {
                return Err(format!(
                    "{}: {copied} bytes, the pack says {}",
                    f.path, f.size
                ));
            }
            let got = super::file_sha256(&tmp)?;
            if got != f.sha256 {
                return Err(format!(
                    "{}: sha256 {got}, the pack says {}",
                    f.path, f.sha256
                ));
            }
        }
        Ok(())
    })();
    let check_pins = || -> Result<(), String> {
        // The manifest that came with the pack pins its models: check them too.
        let staged_manifest = staged
            .iter()
            .find(|(_, d)| d.ends_with(manifest::FILE))
            .map(|(t, _)| t.clone())
            .ok_or("the pack has no manifest.toml")?;
        let text = std::fs::read_to_string(&staged_manifest).map_err(|e| e.to_string())?;
        let m: Manifest = toml::from_str(&text).map_err(|e| format!("manifest.toml: {e}"))?;
        for e in &m.models {
            if let (Some(pin), Some(f)) = (&e.sha256, index.files.iter().find(|f| f.path == e.file))
                && &f.sha256 != pin
            {
                return Err(format!(
                    "{}: sha256 {}, the manifest pins {pin}",
                    e.file, f.sha256
                ));
            }
        }
        Ok(())
    };
    let outcome = outcome.and_then(|_| check_pins());
    if let Err(e) = outcome {
        for (tmp, _) in &staged {
            let _ = std::fs::remove_file(tmp);
        }
        return Err(format!("{}: {e}; nothing installed", pack_file.display()));
    }
    for (tmp, dest) in &staged {
        std::fs::rename(tmp, dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    }
    Ok(staged.len())
}
