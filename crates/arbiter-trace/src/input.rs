//! Opening trace files (plain or gzipped), expanding directories and globs into files, and
//! cutting a file into blocks of whole lines for parallel parsing.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

use crate::error::TraceError;

/// A callback that receives the number of input bytes (compressed bytes for a gzipped file)
/// read since its previous call, for a progress bar.
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

/// The first two bytes of every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A reader that reports the bytes it reads to a [`Progress`].
struct CountingReader<R> {
    inner: R,
    progress: Option<Progress>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buffer)?;
        if let Some(progress) = &self.progress {
            progress(read as u64);
        }
        Ok(read)
    }
}

/// Opens a trace file for reading, decompressing it when it starts with the gzip magic bytes.
/// Every gzip member of a multi-member file is read.
pub(crate) fn open(
    path: &Path,
    progress: Option<Progress>,
) -> Result<Box<dyn Read + Send>, TraceError> {
    let io_error = |source| TraceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    let counting = CountingReader {
        inner: file,
        progress,
    };
    let mut buffered = BufReader::with_capacity(1 << 16, counting);
    let head = buffered.fill_buf().map_err(io_error)?;
    if head.starts_with(&GZIP_MAGIC) {
        Ok(Box::new(MultiGzDecoder::new(buffered)))
    } else {
        Ok(Box::new(buffered))
    }
}

/// Tells whether the file at `path` starts with the gzip magic bytes.
pub(crate) fn is_gzip(path: &Path) -> bool {
    let mut head = [0_u8; 2];
    File::open(path)
        .and_then(|mut file| file.read_exact(&mut head))
        .is_ok_and(|()| head == GZIP_MAGIC)
}

/// Expands the inputs into trace files: a file is taken as is, a directory contributes every
/// file below it whose name does not start with `.`, and any other input is a glob pattern.
/// Files come in input order, each directory's and pattern's files sorted by path, without
/// repeats.
///
/// # Errors
/// [`TraceError::NoInput`] when an input names no file, [`TraceError::Io`] when a directory
/// cannot be listed.
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, TraceError> {
    let mut files = Vec::new();
    for input in inputs {
        let mut found = Vec::new();
        if input.is_file() {
            found.push(input.clone());
        } else if input.is_dir() {
            walk(input, &mut found)?;
            found.sort();
        } else {
            let pattern = input.to_string_lossy();
            if let Ok(paths) = glob::glob(&pattern) {
                found.extend(paths.filter_map(Result::ok).filter(|path| path.is_file()));
            }
            found.sort();
        }
        if found.is_empty() {
            return Err(TraceError::NoInput {
                input: input.display().to_string(),
            });
        }
        for file in found {
            if !files.contains(&file) {
                files.push(file);
            }
        }
    }
    Ok(files)
}

fn walk(directory: &Path, files: &mut Vec<PathBuf>) -> Result<(), TraceError> {
    let io_error = |source| TraceError::Io {
        path: directory.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(directory).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        let hidden = path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, files)?;
        } else if path.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

/// Returns the 2019 cell a file belongs to, from the first path component (innermost first)
/// named like `clusterdata_2019_X`, `cell_X`, `cell-X` or `cellX`, or `None`.
pub(crate) fn cell_from_path(path: &Path) -> Option<String> {
    let components: Vec<String> = path
        .components()
        .map(|component| component.as_os_str().to_string_lossy().to_lowercase())
        .collect();
    components.iter().rev().find_map(|component| {
        let stem = component.split('.').next().unwrap_or(component);
        let rest = stem
            .strip_prefix("clusterdata_2019_")
            .or_else(|| stem.strip_prefix("clusterdata-2019-"))
            .or_else(|| stem.strip_prefix("cell_"))
            .or_else(|| stem.strip_prefix("cell-"))
            .or_else(|| stem.strip_prefix("cell"))?;
        let cell: String = rest
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        (!cell.is_empty() && cell.len() <= 2).then_some(cell)
    })
}

/// A run of whole lines of one file.
#[derive(Debug)]
pub(crate) struct Block {
    /// Index of the file in the run's file list.
    pub(crate) file: usize,
    /// 1-based line of the block's first line.
    pub(crate) first_line: usize,
    /// The lines, each ending in `\n` except perhaps the file's last.
    pub(crate) data: Vec<u8>,
}

/// Reason reading a file into blocks stopped early.
#[derive(Debug)]
pub(crate) enum BlockStop {
    /// The consumer asked to stop.
    Cancelled,
    /// Reading failed after `lines_read` complete lines.
    Failed { lines_read: usize, error: io::Error },
}

/// Reads `reader` into blocks of about `block_bytes` of whole lines and passes each to `send`,
/// which returns `false` to stop. Returns the number of lines read.
pub(crate) fn read_blocks(
    mut reader: impl Read,
    file: usize,
    block_bytes: usize,
    mut send: impl FnMut(Block) -> bool,
) -> Result<usize, BlockStop> {
    let mut lines_read = 0;
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let mut data = std::mem::take(&mut carry);
        data.reserve(block_bytes.min(8 << 20));
        // A line longer than a block grows the block until the line ends.
        let mut target = block_bytes.max(data.len() + 1);
        let mut at_end;
        loop {
            let wanted = target.saturating_sub(data.len());
            match (&mut reader).take(wanted as u64).read_to_end(&mut data) {
                Ok(read) => at_end = read < wanted,
                Err(error) => return Err(BlockStop::Failed { lines_read, error }),
            }
            if at_end {
                break;
            }
            match memchr::memrchr(b'\n', &data) {
                Some(last) => {
                    carry = data.split_off(last + 1);
                    break;
                }
                None => target = target.saturating_mul(2),
            }
        }
        if data.is_empty() {
            return Ok(lines_read);
        }
        let lines = memchr::memchr_iter(b'\n', &data).count() + usize::from(!data.ends_with(b"\n"));
        let block = Block {
            file,
            first_line: lines_read + 1,
            data,
        };
        lines_read += lines;
        if !send(block) {
            return Err(BlockStop::Cancelled);
        }
        if at_end {
            return Ok(lines_read);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(text: &str, block_bytes: usize) -> Vec<(usize, String)> {
        let mut found = Vec::new();
        let lines = read_blocks(text.as_bytes(), 0, block_bytes, |block| {
            found.push((block.first_line, String::from_utf8(block.data).unwrap()));
            true
        })
        .unwrap();
        assert_eq!(lines, text.lines().count());
        found
    }

    #[test]
    fn blocks_end_on_line_boundaries() {
        let found = blocks("aa\nbb\ncc\ndd", 5);
        assert_eq!(
            found,
            vec![
                (1, "aa\n".to_owned()),
                (2, "bb\n".to_owned()),
                (3, "cc\n".to_owned()),
                (4, "dd".to_owned())
            ]
        );
        let found = blocks("a\nb\nc\n", 1 << 20);
        assert_eq!(found, vec![(1, "a\nb\nc\n".to_owned())]);
    }

    #[test]
    fn long_line_grows_the_block() {
        let text = "abcdefghij\nk\nl\nm\nn\no\np\n";
        let found = blocks(text, 4);
        assert!(found[0].1.starts_with("abcdefghij\n"), "{found:?}");
        assert!(found.len() > 1, "{found:?}");
        let joined: String = found.iter().map(|(_, block)| block.as_str()).collect();
        assert_eq!(joined, text);
        for (first_line, block) in &found {
            let line = text.lines().nth(first_line - 1).unwrap();
            assert!(block.starts_with(line), "line {first_line} in {block:?}");
        }
    }

    #[test]
    fn cells_come_from_path_components() {
        let cell = |path: &str| cell_from_path(Path::new(path));
        assert_eq!(
            cell("/data/clusterdata_2019_c/instance_usage-000.json.gz"),
            Some("c".into())
        );
        assert_eq!(cell("exports/cell_h/usage.json"), Some("h".into()));
        assert_eq!(cell("exports/usage.json"), None);
        assert_eq!(cell("cellular/usage.json"), None);
    }
}
