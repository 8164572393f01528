// `ticket train`: trains one dense network and writes result.json.
import { join } from "node:path";
import { Command } from "commander";
import { ready } from "../engine/engine.js";
import { Model } from "../nn/model.js";
import { writeJsonAtomic } from "../node/atomic-write.js";
import { prepareOutputFolder } from "../node/run-folder.js";
import { train, validateTrainConfig } from "../train/train.js";
import { addTrainingOptions, type CommonOptions, checkCrossoverNames, engineOptions, modelChoice, trainConfig } from "./options.js";
import { makeProgress } from "./progress.js";
import { runtimeInfo } from "./runtime-info.js";
import { dataChoice, loadSplits } from "./splits.js";
import { UsageError } from "./usage-error.js";

export function trainCommand(): Command {
  const cmd = new Command("train").description("train one dense network on MNIST-format data and write result.json");
  addTrainingOptions(cmd, { iterations: 10_000, out: "runs/train", testCurve: true });
  return cmd.action(async (o: CommonOptions) => {
    const choice = modelChoice(o);
    const config = trainConfig(o, choice.protocol, "train");
    const data = dataChoice(o);
    const engineChoice = engineOptions(o);
    // a folder that cannot take the result is found out before any data is loaded
    const removeMadeFolders = await prepareOutputFolder(o.out, `--out ${o.out}`);
    let engine: Awaited<ReturnType<typeof ready>>;
    let splits: ReturnType<typeof loadSplits>;
    let spec: ReturnType<typeof choice.specFor>;
    try {
      engine = await ready(engineChoice);
      splits = loadSplits(data);
      spec = choice.specFor(splits.shape, splits.classes);
      checkCrossoverNames(config, spec, choice.name);
      try {
        validateTrainConfig(config, splits);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    } catch (error) {
      removeMadeFolders(); // nothing trained: leave no empty folder behind
      throw error;
    }
    const progress = await makeProgress(Boolean(o.quiet) || Boolean(o.json));
    const model = new Model(spec, data.seed);
    progress.start(config.iterations, `train ${choice.name}`);
    let valAcc = "-";
    const started = Date.now();
    const result = train(model, splits, config, {
      onStep: (it, loss) => progress.update(it, { loss: loss.toFixed(4), valAcc }),
      onEval: (p) => (valAcc = `${(p.valAccuracy * 100).toFixed(2)}%`),
    });
    progress.stop();
    const report = {
      command: "train",
      config: {
        modelName: choice.name,
        model: spec,
        protocol: choice.protocol.source,
        ...config,
        seed: data.seed,
        data: data.dir,
        validation: data.validation,
        trainSubset: data.trainSubset,
        normalize: data.normalize,
      },
      engine: { variant: engine.variant, threads: engine.threads, ...runtimeInfo() },
      earlyStop: result.earlyStop,
      final: result.final,
      curve: result.curve,
      timing: {
        wallSeconds: (Date.now() - started) / 1000,
        trainSeconds: result.trainSeconds,
        evalSeconds: result.evalSeconds,
        stepsPerSecond: result.stepsPerSecond,
        samplesPerSecond: result.stepsPerSecond * config.batchSize,
        peakRssMB: process.resourceUsage().maxRSS / 1024,
        windows: result.windows,
      },
      numerics: { subnormalsAtEnd: result.subnormals },
    };
    const path = join(o.out, "result.json");
    writeJsonAtomic(path, report);
    if (o.json) {
      console.log(JSON.stringify(report));
    } else if (!o.quiet) {
      const es = result.earlyStop;
      console.log(
        `early stop at iteration ${es.iteration}: validation loss ${es.valLoss.toFixed(4)}, validation accuracy ${(es.valAccuracy * 100).toFixed(2)}%, test accuracy ${(es.testAccuracy * 100).toFixed(2)}%`,
      );
      console.log(`final (iteration ${result.final.iteration}): test accuracy ${(result.final.testAccuracy * 100).toFixed(2)}%`);
      console.log(`${result.stepsPerSecond.toFixed(0)} training steps/s (${engine.variant}); wrote ${path}`);
    }
  });
}
