//! Type inference on a thread of its own: the parser hands it the rows' values in batches and goes
//! on reading, so on a machine with a core to spare inference costs the parse next to nothing.

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use super::infer::Inference;

/// Values are handed over in batches of about this many bytes.
const BATCH_BYTES: usize = 256 << 10;
/// Batches in flight: the parser waits when inference falls this far behind.
const IN_FLIGHT: usize = 4;

/// Rows' values back to back, and where each ends; every row has the header's width.
#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    ends: Vec<usize>,
}

pub(crate) struct Inferrer {
    batch: Batch,
    to_thread: Option<SyncSender<Batch>>,
    /// Batches the thread is done with, emptied, to fill again (fresh memory costs page faults).
    recycled: Receiver<Batch>,
    thread: Option<JoinHandle<Vec<Inference>>>,
    width: usize,
}

impl Inferrer {
    /// Fails only when no thread can be started (the machine's limit): storage-like trouble.
    pub(crate) fn new(width: usize) -> std::io::Result<Self> {
        let (to_thread, batches) = mpsc::sync_channel(IN_FLIGHT);
        let (give_back, recycled) = mpsc::sync_channel(IN_FLIGHT + 1);
        let thread = std::thread::Builder::new()
            .name("jobwatch-infer".into())
            .spawn(move || infer(batches, give_back, width))?;
        Ok(Inferrer { batch: Batch::default(), to_thread: Some(to_thread), recycled, thread: Some(thread), width })
    }

    /// One row: its values back to back in `data`, each ending at the offset `ends` gives.
    pub(crate) fn observe(&mut self, data: &[u8], ends: impl Iterator<Item = usize>) {
        let base = self.batch.data.len();
        self.batch.data.extend_from_slice(data);
        self.batch.ends.extend(ends.map(|end| base + end));
        if self.batch.data.len() >= BATCH_BYTES {
            self.send();
        }
    }

    fn send(&mut self) {
        let next = self.recycled.try_recv().unwrap_or_else(|_| Batch {
            data: Vec::with_capacity(BATCH_BYTES + (64 << 10)),
            ends: Vec::with_capacity(BATCH_BYTES / 4),
        });
        let batch = std::mem::replace(&mut self.batch, next);
        if let Some(to_thread) = &self.to_thread {
            // the thread only stops by panicking, which `finish` reports
            let _ = to_thread.send(batch);
        }
    }

    /// Each column's inference, once every value has been seen.
    pub(crate) fn finish(mut self) -> Vec<Inference> {
        self.send();
        self.to_thread = None;
        let thread = self.thread.take().expect("joined once");
        thread.join().unwrap_or_else(|_| vec![Inference::default(); self.width])
    }
}

fn infer(batches: Receiver<Batch>, give_back: SyncSender<Batch>, width: usize) -> Vec<Inference> {
    let mut columns = vec![Inference::default(); width];
    for mut batch in batches {
        let mut start = 0;
        for (i, &end) in batch.ends.iter().enumerate() {
            columns[i % width].observe(&batch.data[start..end]);
            start = end;
        }
        batch.data.clear();
        batch.ends.clear();
        // the parser may have stopped taking them back: then it is simply dropped
        let _ = give_back.try_send(batch);
    }
    columns
}

#[cfg(test)]
mod tests {
    use super::Inferrer;
    use crate::imports::parse::ColumnType;

    #[test]
    fn every_value_reaches_its_column_across_batches() {
        let mut inferrer = Inferrer::new(2).expect("a thread");
        for i in 0..100_000 {
            let row = format!("{i}{}", if i == 99_999 { "x" } else { "true" });
            let split = i.to_string().len();
            inferrer.observe(row.as_bytes(), [split, row.len()].into_iter());
        }
        let types: Vec<ColumnType> = inferrer.finish().iter().map(|c| c.column_type()).collect();
        assert_eq!(types, [ColumnType::Integer, ColumnType::Text]);
    }
}
