using ClipTrainer.Clipping;
using static TorchSharp.torch;

namespace ClipTrainer.Training;

/// <summary>
/// Measures what clipping did to each step's update direction: the cosine between the clipped and the raw gradient,
/// cos = ⟨g_clipped, g_raw⟩ / (‖g_clipped‖₂ ‖g_raw‖₂) over all gradients as one vector, and the raw gradient's L2
/// norm. Norm clipping with one coefficient (global norm) gives cosine 1; per-group coefficients (local norm) and
/// element-wise clamping (value) turn the direction and give less.
/// </summary>
/// <remarks>
/// Add one instance to <see cref="TrainingSettings.Callbacks"/> per run (it resets in
/// <see cref="TrainingCallback.OnTrainingStart"/>). After <c>backward()</c> it copies the raw gradient (into one
/// buffer allocated once per run when the loop keeps the gradients contiguous, else a concatenation per step); after
/// the clip it computes the cosine and the norm on the device, in float64, and keeps them there: they are read to the
/// host once per epoch, so the callback adds no synchronisation per step. A zero raw gradient counts as cosine 1
/// (nothing to turn); a non-finite one (a skipped step) gives NaN, which <see cref="MeanCosine"/> leaves out.
/// </remarks>
public sealed class ClippingDirectionCallback : TrainingCallback
{
    private readonly List<double> _cosines = [];
    private readonly List<double> _norms = [];
    private readonly List<Tensor> _pending = [];
    private Tensor? _raw;
    private bool _rawIsOwned;

    /// <summary>Gets the cosine between the clipped and the raw gradient at every step read so far (NaN on a step with non-finite gradients).</summary>
    public IReadOnlyList<double> Cosines => _cosines;

    /// <summary>Gets the L2 norm of the raw (pre-clip) gradient at every step read so far, whatever p the clipping uses.</summary>
    public IReadOnlyList<double> PreClipL2Norms => _norms;

    /// <summary>Gets the mean of the finite <see cref="Cosines"/>, or NaN when there is none.</summary>
    public double MeanCosine => MeanOfFinite(_cosines);

    /// <summary>Gets the smallest finite cosine, or NaN when there is none.</summary>
    public double MinimumCosine => _cosines.Where(double.IsFinite).DefaultIfEmpty(double.NaN).Min();

    /// <inheritdoc/>
    public override void OnTrainingStart(TrainingState state)
    {
        ReleaseDeviceTensors();
        _cosines.Clear();
        _norms.Clear();
    }

    /// <inheritdoc/>
    public override void OnAfterBackward(TrainingState state, Tensor loss)
    {
        using var noGrad = no_grad();
        if (state.Contiguous is { } contiguous)
        {
            // The gradients are views into one buffer: one copy into a buffer of the run, no allocation per step.
            _raw ??= contiguous.Buffer.clone().DetachFromDisposeScope();
            _rawIsOwned = true;
            _raw.copy_(contiguous.Buffer);
        }
        else
        {
            _raw = Flat(state); // belongs to the step's dispose scope and lives until OnAfterClip of the same step
            _rawIsOwned = false;
        }
    }

    /// <inheritdoc/>
    public override void OnAfterClip(TrainingState state, GradientClipReport report)
    {
        if (_raw is null) return;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var clipped = state.Contiguous is { } contiguous ? contiguous.Buffer : Flat(state);
        var raw = _raw.to(ScalarType.Float64);
        var after = clipped.to(ScalarType.Float64);
        var rawNorm = raw.norm();
        var denominator = rawNorm * after.norm();
        var cosine = where(denominator > 0, raw.dot(after) / denominator, ones_like(denominator));
        _pending.Add(stack([cosine, rawNorm]).MoveToOuterDisposeScope().DetachFromDisposeScope());
        if (!_rawIsOwned) _raw = null;
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(TrainingState state, EpochRecord record) => ReadPending();

    /// <inheritdoc/>
    public override void OnTrainingEnd(TrainingState state, TrainingHistory history) => ReleaseDeviceTensors();

    /// <inheritdoc/>
    public override void OnException(TrainingState state, Exception exception) => ReleaseDeviceTensors();

    /// <summary>The epoch's values in one host read.</summary>
    private void ReadPending()
    {
        if (_pending.Count == 0) return;
        using (var scope = NewDisposeScope())
        {
            var values = stack(_pending).cpu().data<double>().ToArray();
            for (int i = 0; i < values.Length; i += 2)
            {
                _cosines.Add(values[i]);
                _norms.Add(values[i + 1]);
            }
        }

        foreach (var tensor in _pending) tensor.Dispose();
        _pending.Clear();
    }

    private void ReleaseDeviceTensors()
    {
        ReadPending();
        if (_rawIsOwned) _raw?.Dispose();
        _raw = null;
        _rawIsOwned = false;
    }

    /// <summary>All gradients as one flat vector (parameters without a gradient contribute nothing).</summary>
    private static Tensor Flat(TrainingState state)
    {
        var parts = state.Parameters.Select(p => p.Parameter.grad).Where(g => g is not null).Select(g => g!.flatten()).ToArray();
        return parts.Length == 0 ? zeros(1, ScalarType.Float64) : cat(parts);
    }

    private static double MeanOfFinite(IEnumerable<double> values)
    {
        var finite = values.Where(double.IsFinite).ToArray();
        return finite.Length == 0 ? double.NaN : finite.Average();
    }
}
