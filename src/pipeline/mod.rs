//! The pipeline: per camera, a worker thread runs the inference over each frame capture hands
//! it and publishes the resulting [`Analysis`]; the [`Analyser`] is the one place where pose
//! and classification are driven frame by frame, for cameras, files, uploads and streams.
//!
//! * [`analysis`]: the worker's contract — [`Analysis`] (what outputs receive), the [`Stage`]
//!   trait and the broadcast the outputs read it from.
//! * [`analyser`]: the models and the analyser: frame → pose → landmarks → classifier step.
//! * [`worker`]: the thread, its heartbeat and counters.

pub mod analyser;
pub mod analysis;
#[cfg(feature = "fault-injection")]
pub mod fault;
pub mod worker;

pub use analyser::{Analysed, Analyser, Models, PersonStep};
pub use analysis::{Analyses, Analysis, AnalysisSender, PersonAnalysis, Stage, StageError};
pub use worker::{Worker, WorkerStatus};
