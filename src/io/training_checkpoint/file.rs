//! Writing and reading the file: tensors, metadata, checks.

use super::super::checksum::{training_checksum_holds, training_with_checksum};
use super::tensors::{
    f32_tensor, from_json, key_tensor, read_f32, read_generator, read_metrics, to_json,
};
use super::*;
use crate::metrics::RegressionMetrics;

impl TrainingCheckpoint {
    /// Writes the checkpoint of a run at the end of an epoch, atomically.
    pub(super) fn write(path: &Path, from: &RunState<'_, '_>) -> Result<()> {
        let fail = |problem| checkpoint_error(path, problem);
        let model = &*from.model;
        let mut tensors = model.encode_tensors(path)?;
        let optimizer = from.optimizer.state()?;
        let mut non_finite = Vec::new();
        for OptimizerBuffer {
            parameter,
            name,
            values,
        } in &optimizer.buffers
        {
            let name = format!("{OPTIMIZER}{parameter}.{name}");
            if values.iter().any(|v| !v.is_finite()) {
                non_finite.push(name.clone());
            }
            tensors.push((name, f32_tensor(vec![values.len()], values.iter())));
        }
        if optimizer.hyper_parameters.values().any(|v| !v.is_finite()) {
            non_finite.push("the optimizer's hyper-parameters".to_string());
        }
        let mut generators = GeneratorsMeta::default();
        if let Some(rng) = from.batches.generator() {
            let state = rng.state();
            tensors.push((format!("{GENERATOR}shuffle.key"), key_tensor(&state.key)));
            generators.shuffle = Some(GeneratorMeta {
                pos: state.pos,
                gauss: state.gauss,
            });
        }
        for (index, layer) in model.layers.iter().enumerate() {
            if let Some(rng) = layer.generator() {
                let state = rng.state();
                tensors.push((
                    format!("{GENERATOR}layer.{index}.key"),
                    key_tensor(&state.key),
                ));
                generators.layers.insert(
                    index,
                    GeneratorMeta {
                        pos: state.pos,
                        gauss: state.gauss,
                    },
                );
            }
        }
        let history = &*from.history;
        let n = history.epoch_losses.len();
        for (name, values) in [
            ("loss", &history.epoch_losses),
            ("accuracy", &history.accuracies),
            ("val_loss", &history.validation_losses),
            ("val_accuracy", &history.validation_accuracies),
            ("learning_rate", &history.learning_rates),
        ] {
            tensors.push((
                format!("{HISTORY}{name}"),
                f32_tensor(vec![values.len()], values.iter()),
            ));
        }
        // In F64 since the metrics are f64 (files written before hold them in F32, still read).
        for (name, metrics) in [
            ("regression", &history.regression),
            ("val_regression", &history.validation_regression),
        ] {
            let values: Vec<u8> = metrics
                .iter()
                .flat_map(|r| [r.mse, r.rmse, r.mae, r.r2])
                .flat_map(f64::to_le_bytes)
                .collect();
            tensors.push((
                format!("{HISTORY}{name}"),
                Tensor {
                    dtype: Dtype::F64,
                    shape: vec![metrics.len(), 4],
                    data: values,
                },
            ));
        }
        let times: Vec<u8> = history
            .epoch_times
            .iter()
            .flat_map(|t| nanos(*t).to_le_bytes())
            .collect();
        tensors.push((
            format!("{HISTORY}epoch_time_ns"),
            Tensor {
                dtype: Dtype::U64,
                shape: vec![history.epoch_times.len()],
                data: times,
            },
        ));
        let mut callbacks = Vec::new();
        for (position, callback) in from.callbacks.iter().enumerate() {
            let Some(state) = callback.state()? else {
                continue;
            };
            let mut names = Vec::with_capacity(state.tensors.len());
            for (name, value) in &state.tensors {
                let full = format!("{CALLBACK}{position}.{name}");
                if value.iter().any(|v| !v.is_finite()) {
                    non_finite.push(full.clone());
                }
                let (rows, cols) = value.dim();
                tensors.push((full, f32_tensor(vec![rows, cols], value.iter())));
                names.push(name.clone());
            }
            callbacks.push(CallbackMeta {
                position,
                kind: state.kind,
                values: state.values,
                tensors: names,
            });
        }
        let mut metadata = HashMap::new();
        let training = Training {
            epochs_done: n,
            setup: from.setup.clone(),
            model_steps: model.steps,
            stopped_at: history.stopped_at,
            training_time_ns: nanos(history.training_time),
        };
        let optimizer_meta = OptimizerMeta {
            kind: optimizer.kind,
            hyper_parameters: optimizer.hyper_parameters,
            steps: optimizer.steps,
        };
        let version = super::processes::write_processes(
            path,
            from.processes,
            &mut tensors,
            &mut metadata,
            &mut non_finite,
        )?;
        if !non_finite.is_empty() {
            return Err(fail(CheckpointProblem::NonFinite(non_finite)));
        }
        metadata.insert(KEY_FORMAT.to_string(), TRAINING_FORMAT.to_string());
        metadata.insert(KEY_VERSION.to_string(), version.to_string());
        metadata.insert(KEY_INPUT_WIDTH.to_string(), model.input_width().to_string());
        super::super::header::insert_input_shape(&mut metadata, model.input_shape());
        let specs: Option<Vec<LayerSpec>> = model.layers.iter().map(|l| l.spec()).collect();
        if let Some(specs) = specs {
            metadata.insert(KEY_ARCHITECTURE.to_string(), to_json(path, &specs)?);
        }
        metadata.insert(KEY_TRAINING.to_string(), to_json(path, &training)?);
        metadata.insert(KEY_OPTIMIZER.to_string(), to_json(path, &optimizer_meta)?);
        metadata.insert(KEY_GENERATORS.to_string(), to_json(path, &generators)?);
        metadata.insert(KEY_CALLBACKS.to_string(), to_json(path, &callbacks)?);
        metadata.insert(KEY_SHA256.to_string(), "0".repeat(64));
        let bytes = serialize(path, &tensors, metadata, training_with_checksum)?;
        // What we write must read back.
        Self::parse(path, bytes.clone())?;
        write_atomically(path, &bytes)
    }

    /// Checks and decodes a file's bytes.
    pub(super) fn parse(path: &Path, bytes: Vec<u8>) -> Result<TrainingCheckpoint> {
        let fail = |problem| checkpoint_error(path, problem);
        let malformed = |reason: String| fail(CheckpointProblem::Malformed(reason));
        let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| {
            malformed(match e {
                safetensors::SafeTensorError::HeaderTooSmall => {
                    "shorter than the 8-byte header size".to_string()
                }
                other => other.to_string(),
            })
        })?;
        let tensors = SafeTensors::deserialize(&bytes).map_err(|e| malformed(e.to_string()))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let format = metadata.get(KEY_FORMAT).map(String::as_str);
        if format != Some(TRAINING_FORMAT) {
            return Err(fail(CheckpointProblem::NotTrainingCheckpoint(
                match format {
                    Some(super::super::FORMAT) => {
                        "a model saved with Sequential::save: load it with Sequential::load"
                            .to_string()
                    }
                    Some(other) => format!("its format is {other:?}"),
                    None => format!("its metadata has no {KEY_FORMAT} = {TRAINING_FORMAT}"),
                },
            )));
        }
        let found = metadata.get(KEY_VERSION).map(String::as_str);
        match found.and_then(|v| v.parse::<u32>().ok()) {
            Some(version) if (1..=TRAINING_FORMAT_VERSION).contains(&version) => {}
            _ => {
                return Err(fail(CheckpointProblem::UnsupportedVersion {
                    found: found.unwrap_or("(none)").to_string(),
                    supported: TRAINING_FORMAT_VERSION,
                }))
            }
        }
        if !training_checksum_holds(&bytes) {
            return Err(fail(CheckpointProblem::ChecksumMismatch));
        }
        // From here on the file is as it was written: a failure is a bug or a hand-made file.
        let entry = |key: &str| {
            metadata
                .get(key)
                .ok_or_else(|| malformed(format!("no {key} metadata")))
        };
        let input_width = entry(KEY_INPUT_WIDTH)?
            .parse::<usize>()
            .map_err(|e| malformed(format!("{KEY_INPUT_WIDTH}: {e}")))?;
        let input_shape =
            super::super::header::input_shape(&metadata, input_width).map_err(malformed)?;
        let architecture = metadata
            .get(KEY_ARCHITECTURE)
            .map(|a| from_json(a, KEY_ARCHITECTURE))
            .transpose()
            .map_err(malformed)?;
        let training: Training =
            from_json(entry(KEY_TRAINING)?, KEY_TRAINING).map_err(malformed)?;
        let meta: OptimizerMeta =
            from_json(entry(KEY_OPTIMIZER)?, KEY_OPTIMIZER).map_err(malformed)?;
        let generators: GeneratorsMeta =
            from_json(entry(KEY_GENERATORS)?, KEY_GENERATORS).map_err(malformed)?;
        let callback_meta: Vec<CallbackMeta> =
            from_json(entry(KEY_CALLBACKS)?, KEY_CALLBACKS).map_err(malformed)?;

        let mut optimizer = OptimizerState {
            kind: meta.kind,
            hyper_parameters: meta.hyper_parameters,
            steps: meta.steps,
            buffers: Vec::new(),
        };
        let mut names: Vec<&str> = tensors.names().into_iter().collect();
        names.sort_unstable();
        for name in names {
            let Some(rest) = name.strip_prefix(OPTIMIZER) else {
                continue;
            };
            let (index, buffer) = rest
                .split_once('.')
                .and_then(|(i, b)| Some((i.parse::<usize>().ok()?, b)))
                .ok_or_else(|| malformed(format!("unreadable optimizer tensor name {name}")))?;
            optimizer.buffers.push(OptimizerBuffer {
                parameter: index,
                name: buffer.to_string(),
                values: read_f32(&tensors, name, None).map_err(malformed)?.1,
            });
        }
        optimizer
            .buffers
            .sort_by(|a, b| (a.parameter, &a.name).cmp(&(b.parameter, &b.name)));
        let generator = |name: &str, meta: &GeneratorMeta| -> Result<GeneratorState> {
            read_generator(&tensors, name, meta).map_err(&malformed)
        };
        let shuffle = generators
            .shuffle
            .as_ref()
            .map(|meta| generator(&format!("{GENERATOR}shuffle.key"), meta))
            .transpose()?;
        let mut layer_generators = BTreeMap::new();
        for (index, meta) in &generators.layers {
            let state = generator(&format!("{GENERATOR}layer.{index}.key"), meta)?;
            layer_generators.insert(*index, state);
        }
        let epochs = training.epochs_done;
        let history_values = |name: &str, len: Option<usize>| {
            read_f32(&tensors, &format!("{HISTORY}{name}"), None)
                .map_err(&malformed)
                .and_then(|(_, values)| match len {
                    Some(len) if len != values.len() => {
                        Err(malformed(format!("{HISTORY}{name}: not {len} epochs")))
                    }
                    _ => Ok(values),
                })
        };
        let times = tensors
            .tensor(&format!("{HISTORY}epoch_time_ns"))
            .ok()
            .filter(|t| t.dtype() == Dtype::U64 && t.shape() == [epochs])
            .ok_or_else(|| malformed(format!("{HISTORY}epoch_time_ns: not {epochs} U64")))?;
        // The training metrics came in version 0.2: a checkpoint written before has none.
        let present = |name: &str| tensors.tensor(&format!("{HISTORY}{name}")).is_ok();
        let regression = |name: &str| -> Result<Vec<RegressionMetrics>> {
            let name = format!("{HISTORY}{name}");
            // F64 since the metrics are f64; F32 in files written before (still read).
            let (shape, values) = read_metrics(&tensors, &name).map_err(&malformed)?;
            if shape[1] != 4 {
                return Err(malformed(format!("{name}: not 4 metrics an epoch")));
            }
            Ok(values
                .chunks_exact(4)
                .map(|m| RegressionMetrics {
                    mse: m[0],
                    rmse: m[1],
                    mae: m[2],
                    r2: m[3],
                })
                .collect())
        };
        let history = History {
            epoch_losses: history_values("loss", Some(epochs))?,
            accuracies: match present("accuracy") {
                true => history_values("accuracy", None)?,
                false => Vec::new(),
            },
            regression: match present("regression") {
                true => regression("regression")?,
                false => Vec::new(),
            },
            validation_losses: history_values("val_loss", None)?,
            validation_accuracies: history_values("val_accuracy", None)?,
            validation_regression: regression("val_regression")?,
            learning_rates: history_values("learning_rate", Some(epochs))?,
            epoch_times: times
                .data()
                .chunks_exact(8)
                .map(|b| Duration::from_nanos(u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))))
                .collect(),
            training_time: Duration::from_nanos(training.training_time_ns),
            stopped_at: training.stopped_at,
        };
        let mut callbacks = BTreeMap::new();
        for meta in callback_meta {
            let mut state = CallbackState {
                kind: meta.kind,
                values: meta.values,
                tensors: Vec::with_capacity(meta.tensors.len()),
            };
            for name in meta.tensors {
                let full = format!("{CALLBACK}{}.{name}", meta.position);
                let (shape, values) = read_f32(&tensors, &full, Some(2)).map_err(malformed)?;
                let value = Array2::from_shape_vec((shape[0], shape[1]), values)
                    .map_err(|e| malformed(format!("{full}: {e}")))?;
                state.tensors.push((name, value));
            }
            callbacks.insert(meta.position, state);
        }
        let (world_size, ranks) =
            super::processes::read_processes(&tensors, &metadata).map_err(malformed)?;
        drop(tensors);
        Ok(TrainingCheckpoint {
            world_size,
            ranks,
            path: path.to_path_buf(),
            bytes,
            input_shape,
            architecture,
            training,
            optimizer,
            shuffle,
            layer_generators,
            callbacks,
            history,
        })
    }
}

/// A duration in nanoseconds, saturating (585 years).
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}
