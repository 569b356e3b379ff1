//! A progress closure as a callback, for [`Sequential::fit_with_progress`](crate::Sequential::fit_with_progress).

use super::Callback;
use crate::model::Progress;

/// Lets a plain progress closure take part as a [`Callback`].
pub(crate) struct ProgressFn<'f>(pub(crate) &'f mut dyn FnMut(&Progress));

impl Callback for ProgressFn<'_> {
    fn on_progress(&mut self, progress: &Progress) {
        (self.0)(progress);
    }
}
