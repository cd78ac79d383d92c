using System.Diagnostics;
using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ClipTrainer.Mpi;

/// <summary>
/// Data-parallel training over MPI with the library's one training loop: every rank reads the same global batches
/// (<see cref="Slice"/> keeps its share of each), and after <c>backward()</c> the gradients are averaged across ranks,
/// so every rank clips the same gradient and takes the same step as one process on the whole batch would.
/// </summary>
/// <remarks>
/// <para>
/// Per step, in <see cref="TrainingCallback.OnAfterBackward"/>: one all-reduce of two numbers (this rank's row count
/// bᵣ and bᵣ·lossᵣ: the global batch size B and the whole batch's mean loss, which then replaces the rank's loss, so
/// every rank's history records the loss of the whole batch), then the gradients are scaled by bᵣ/B and summed across
/// ranks with one in-place all-reduce over the loop's flat gradient buffer (<see cref="TrainingState.Contiguous"/>;
/// one call per tensor when there is none). Since the loss is a mean over the rows, Σᵣ (bᵣ/B)·∇lossᵣ is the gradient
/// of the whole batch's mean loss, for slices of any sizes.
/// </para>
/// <para>
/// Every rank must train with the same settings and seed, and the same global batches in the same order (the
/// in-memory batcher's shuffling is a function of seed and epoch, so it is). Dropout draws masks per rank, so with
/// dropout the ranks' run is a valid but different sample from a single process's. Add this callback first, so that
/// later callbacks see averaged gradients; let rank 0 (<see cref="MpiWorld.IsRoot"/>) alone add the callbacks that
/// write files and save the model.
/// </para>
/// <para>
/// When training throws on one rank, <see cref="TrainingCallback.OnException"/> prints the error and aborts every
/// rank (<see cref="MpiWorld.Abort"/>), since the others would otherwise wait for its next all-reduce forever.
/// </para>
/// </remarks>
public sealed class DataParallelCallback : TrainingCallback
{
    private readonly MpiWorld _world;
    private readonly Stopwatch _allReduceWatch = new();
    private readonly Stopwatch _waitWatch = new();
    private readonly List<RankSlice> _slices = [];
    private long _rows;

    /// <summary>Creates the callback for a world.</summary>
    /// <param name="world">This process's MPI world.</param>
    /// <exception cref="ArgumentNullException"><paramref name="world"/> is null.</exception>
    public DataParallelCallback(MpiWorld world)
    {
        ArgumentNullException.ThrowIfNull(world);
        _world = world;
    }

    /// <summary>
    /// Gets the wall time this rank spent scaling and all-reducing gradients since training started. It excludes the
    /// step's first, two-number all-reduce, where a rank waits for the slowest one (<see cref="WaitTime"/>).
    /// </summary>
    public TimeSpan AllReduceTime => _allReduceWatch.Elapsed;

    /// <summary>Gets the wall time this rank spent in each step's first all-reduce (batch size and loss): mostly waiting for slower ranks.</summary>
    public TimeSpan WaitTime => _waitWatch.Elapsed;

    /// <summary>Gets the number of steps whose gradients were all-reduced since training started.</summary>
    public long AllReduceCount { get; private set; }

    /// <summary>
    /// Wraps the global batch source so that this rank yields its contiguous share of each batch: rows
    /// [⌊r·B/N⌋, ⌊(r+1)·B/N⌋) of a batch of B rows on rank r of N. A rank whose share is empty (B &lt; N) yields the
    /// batch's first row and contributes nothing (its weight bᵣ is 0), so every rank still takes part in every step.
    /// </summary>
    /// <param name="globalBatches">The batches of the whole job, the same on every rank.</param>
    /// <returns>The source to train on.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="globalBatches"/> is null.</exception>
    public ISequenceBatchSource Slice(ISequenceBatchSource globalBatches)
    {
        ArgumentNullException.ThrowIfNull(globalBatches);
        var slice = new RankSlice(globalBatches, _world.Rank, _world.Size);
        _slices.Add(slice);
        return slice;
    }

    /// <inheritdoc />
    public override void OnTrainingStart(TrainingState state)
    {
        _allReduceWatch.Reset();
        _waitWatch.Reset();
        AllReduceCount = 0;
    }

    /// <inheritdoc />
    public override void OnBatchStart(TrainingState state, SequenceBatch batch) =>
        _rows = _slices.Any(s => ReferenceEquals(s.CurrentPlaceholder, batch)) ? 0 : batch.Count;

    /// <inheritdoc />
    public override void OnAfterBackward(TrainingState state, Tensor loss)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();

        // [bᵣ·lossᵣ, bᵣ] → [B·loss, B]: the batch's size and mean loss, with the one host read of this hook.
        var totals = tensor(new[] { _rows * loss.to(ScalarType.Float64, CPU).item<double>(), _rows });
        _waitWatch.Start();
        _world.AllReduceInPlace(totals, ShardReduction.Sum);
        _waitWatch.Stop();
        _allReduceWatch.Start();
        var (lossSum, rows) = (totals[0].item<double>(), totals[1].item<double>());
        if (!(rows > 0))
            throw new InvalidOperationException("The ranks' batch slices hold no row: every global batch needs at least one row.");
        loss.fill_(lossSum / rows);

        var weight = _rows / rows;
        if (state.Contiguous is { } contiguous)
        {
            AllReduce(contiguous.Buffer, weight);
        }
        else
        {
            foreach (var (_, parameter) in state.Parameters)
            {
                if (!parameter.requires_grad || parameter.grad is not { } gradient) continue;
                AllReduce(gradient, weight);
            }
        }

        AllReduceCount++;
        _allReduceWatch.Stop();
    }

    /// <inheritdoc />
    public override void OnException(TrainingState state, Exception exception)
    {
        Console.Error.WriteLine($"Rank {_world.Rank} of {_world.Size} failed at epoch {state.Epoch}, step {state.StepInEpoch}: " +
            $"{exception.GetType().Name}: {exception.Message}{System.Environment.NewLine}Aborting every rank (MPI_Abort).");
        // The launcher forwards a rank's stderr asynchronously and MPI_Abort kills every rank at once: without a moment
        // to forward it, the one line that says why the run ended can be lost.
        Console.Error.Flush();
        Thread.Sleep(AbortGrace);
        _world.Abort(1);
    }

    private static readonly TimeSpan AbortGrace = TimeSpan.FromMilliseconds(250);

    private void AllReduce(Tensor values, double weight)
    {
        var flat = values.is_contiguous() && values.device_type == DeviceType.CPU ? values : values.cpu().contiguous();
        flat.mul_(weight);
        _world.AllReduceInPlace(flat, ShardReduction.Sum);
        if (!ReferenceEquals(flat, values)) values.copy_(flat);
    }
}
