//! The training checkpoint as the training loop's backup (Keras's `BackupAndRestore`), and
//! [`FitConfig::checkpoint`], which asks for it.

use super::super::atomic_write::{check_writable, folder_of, resolve_links};
use super::*;

/// Backs a run up into a [`TrainingCheckpoint`] file and resumes from it.
struct BackupAndRestore;

/// The one instance [`FitConfig::checkpoint`] points the loop at.
static BACKUP_AND_RESTORE: BackupAndRestore = BackupAndRestore;

impl TrainingBackup for BackupAndRestore {
    fn prepare(&self, path: &Path, run: &RunState<'_, '_>) -> Result<()> {
        // Fail now, not after the first epoch, when a state cannot be exported.
        run.optimizer.state()?;
        for callback in run.callbacks.iter() {
            callback.state()?;
        }
        // A folder that is not there, or that cannot be written (read-only, no permission),
        // is found now, not after the first epoch: the folder of the file a symbolic link
        // points to, where the checkpoint will be written.
        let target = resolve_links(path)?;
        let exists = target
            .try_exists()
            .map_err(|e| Error::io("looking for", path, e))?;
        if !exists {
            let folder = folder_of(&target);
            if !folder.is_dir() {
                return Err(Error::io(
                    "writing the training checkpoint",
                    path,
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("no folder {}", folder.display()),
                    ),
                ));
            }
        }
        check_writable(path)
    }

    fn restore(&self, path: &Path, run: &mut RunState<'_, '_>) -> Result<Option<History>> {
        let exists = path
            .try_exists()
            .map_err(|e| Error::io("looking for", path, e))?;
        if !exists {
            return Ok(None);
        }
        let file = TrainingCheckpoint::read(path)?;
        file.resume(run).map(Some)
    }

    fn save(&self, path: &Path, run: &RunState<'_, '_>) -> Result<()> {
        TrainingCheckpoint::write(path, run)
    }
}

impl<'a> FitConfig<'a> {
    /// Makes training survive a crash, as Keras' `BackupAndRestore` callback: when a file
    /// exists at `path` as `fit` starts, training resumes from it (skipping the epochs it
    /// holds); after every epoch (see [`checkpoint_every`](FitConfig::checkpoint_every)), and
    /// after the last one or a stop by a callback, `fit` replaces it atomically with a
    /// [`TrainingCheckpoint`] of the run: the model, the optimizer's state, the generators of
    /// shuffling and dropout, the callbacks' states (early stopping's) and the [`History`](crate::History).
    ///
    /// A run killed at any moment and started again with the same call ends with exactly the
    /// parameters and [`History`](crate::History) of a run never interrupted (but for wall-clock times); a run
    /// whose checkpoint says it is finished trains nothing more and returns its history. The file
    /// is kept when training ends: delete it to start afresh. What must match to resume, and the
    /// file's layout: [`training_checkpoint`](crate::io::training_checkpoint).
    ///
    /// ```
    /// use feedforward::FitConfig;
    /// let config = FitConfig::new(20).batch_size(32).shuffle(0).checkpoint("run.ckpt");
    /// assert_eq!(config.checkpoint_every, 1);
    /// ```
    pub fn checkpoint(mut self, path: &'a (impl AsRef<Path> + ?Sized)) -> Self {
        self.checkpoint = Some(Backup {
            path: path.as_ref(),
            store: &BACKUP_AND_RESTORE,
        });
        self
    }
}
