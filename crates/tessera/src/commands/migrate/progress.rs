//! Progress of `tessera migrate` on stderr: a bar per table for a person at a terminal, plain
//! lines now and then for logs (CI, `nohup`, a pipe), where bars would be noise.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};
use tessera_store::copy::Progress;

/// How often a plain line is printed for a table still being copied.
const LINE_INTERVAL: Duration = Duration::from_secs(2);

/// Shows the copy's progress.
pub enum Display {
    /// Bars, one per table, redrawn in place.
    Bars {
        bars: MultiProgress,
        current: Option<(&'static str, ProgressBar)>,
    },
    /// A line when a table starts, every [`LINE_INTERVAL`] while it runs, and when it is done.
    Lines { last: Instant },
}

impl Display {
    /// Bars when stderr is a terminal, lines otherwise.
    pub fn for_stderr() -> Self {
        if std::io::stderr().is_terminal() {
            Self::Bars {
                bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                current: None,
            }
        } else {
            Self::Lines {
                last: Instant::now(),
            }
        }
    }

    /// Shows `progress`.
    pub fn show(&mut self, progress: &Progress) {
        match self {
            Self::Bars { bars, current } => {
                let bar = match current {
                    Some((table, bar)) if *table == progress.table => bar,
                    _ => {
                        let bar = bars.add(
                            ProgressBar::new(progress.total)
                                .with_style(bar_style())
                                .with_prefix(progress.table),
                        );
                        &current.insert((progress.table, bar)).1
                    }
                };
                bar.set_position(progress.done);
                if progress.done >= progress.total {
                    bar.finish_with_message(new_rows(progress));
                }
            }
            Self::Lines { last } => {
                let finished = progress.done >= progress.total;
                if progress.done == 0 || finished || last.elapsed() >= LINE_INTERVAL {
                    *last = Instant::now();
                    let state = if finished {
                        format!("done, {}", new_rows(progress))
                    } else {
                        "copying".to_owned()
                    };
                    eprintln!(
                        "{}: {}/{} rows {state}",
                        progress.table, progress.done, progress.total
                    );
                }
            }
        }
    }

    /// Leaves the finished bars on screen (their last frame), or does nothing for lines.
    pub fn finish(self) {
        // A bar left unfinished (the copy failed) keeps its last frame too.
        if let Self::Bars {
            current: Some((_, bar)),
            ..
        } = self
        {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:>24} [{bar:40}] {pos:>7}/{len:<7} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// "N new" (the rest of the rows were there from an earlier run).
fn new_rows(progress: &Progress) -> String {
    format!("{} new", progress.inserted)
}
