using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// What one <see cref="GradientClipper.Clip(IReadOnlyList{ValueTuple{string, TorchSharp.Modules.Parameter}})"/> call
/// measured and did: the pre-clip total norm, each rule's stage (group norms and coefficients), whether anything was
/// clipped, and what the non-finite guard found.
/// </summary>
/// <remarks>
/// Values are kept as tensors and read to the host only when a <c>double</c>/<c>bool</c> property is first used
/// (then cached), so a caller that never reads them pays no synchronisation. The report owns its tensors: dispose it
/// once done (values already read stay available after disposal). When the call worked on the host (a global norm
/// whose total the non-finite check read; a local norm on the CPU), the report holds the numbers and makes a tensor only
/// when one is asked for: such a tensor belongs to no dispose scope, only to the report, which disposes it.
/// </remarks>
public sealed class GradientClipReport : IDisposable
{
    private readonly Device? _device; // set when the report was made from host values: its tensors are made on first use
    private double? _totalNorm;
    private double? _postClipNorm;
    private double[]? _parameterNorms;
    private bool? _wasClipped;
    private Tensor? _totalNormTensor;
    private Tensor? _postClipNormTensor;
    private Tensor? _wasClippedTensor;
    private bool _disposed;

    internal GradientClipReport(
        Tensor totalNorm,
        Tensor postClipNorm,
        IReadOnlyList<string> parameterNames,
        Tensor? parameterNorms,
        double normType,
        IReadOnlyList<GradientClipStage> stages,
        Tensor wasClipped,
        bool skipStep,
        long nonFiniteElementCount,
        IReadOnlyList<string> nonFiniteParameterNames,
        double? totalNormValue = null)
    {
        _totalNorm = totalNormValue;
        _totalNormTensor = totalNorm;
        _postClipNormTensor = postClipNorm;
        _wasClippedTensor = wasClipped;
        ParameterNames = parameterNames;
        ParameterNormsTensor = parameterNorms;
        NormType = normType;
        Stages = stages;
        SkipStep = skipStep;
        NonFiniteElementCount = nonFiniteElementCount;
        NonFiniteParameterNames = nonFiniteParameterNames;
    }

    /// <summary>A report of an applied step from host values (no tensor of its own until one is asked for, then on <paramref name="device"/>).</summary>
    internal GradientClipReport(double totalNorm, double postClipNorm, bool wasClipped, Device device, IReadOnlyList<string> parameterNames,
        Tensor? parameterNorms, double normType, IReadOnlyList<GradientClipStage> stages)
    {
        (_totalNorm, _postClipNorm, _wasClipped, _device) = (totalNorm, postClipNorm, wasClipped, device);
        ParameterNames = parameterNames;
        ParameterNormsTensor = parameterNorms;
        NormType = normType;
        Stages = stages;
        NonFiniteParameterNames = [];
    }

    /// <summary>
    /// Gets whether the caller must skip <c>optimizer.step()</c> for this batch: true only under
    /// <see cref="NonFiniteGradientPolicy.SkipStep"/> when a gradient was NaN or Inf (the gradients are then untouched).
    /// </summary>
    public bool SkipStep { get; }

    /// <summary>
    /// Gets the total p-norm of all gradients before clipping, as a 0-dimensional float64 tensor on the gradients'
    /// device (no synchronisation). Under <see cref="NonFiniteGradientPolicy.ZeroNonFinite"/> it is measured after the
    /// non-finite elements were zeroed.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The report was made from host values and disposed before the tensor was asked for.</exception>
    public Tensor TotalNormTensor => _totalNormTensor ??= HostTensor.Float64Scalar(_totalNorm!.Value, _device!, _disposed, this);

    /// <summary>Gets the total p-norm of all gradients before clipping; read on first use, then cached.</summary>
    /// <value>≥ 0; NaN or +∞ only when <see cref="SkipStep"/> is true. 0 when no parameter had a gradient.</value>
    /// <exception cref="ObjectDisposedException">The report was disposed before the value was read (never for a report made from host values).</exception>
    public double TotalNorm => _totalNorm ??= HostRead.Double(TotalNormTensor);

    /// <summary>
    /// Gets the total p-norm of all gradients after every rule ran, as a 0-dimensional float64 tensor on the gradients'
    /// device (no synchronisation); equal to <see cref="TotalNormTensor"/> when nothing was clipped or the step is skipped.
    /// </summary>
    /// <remarks>Norm rules scale the cached norms (‖c·g‖ = c·‖g‖), so after them this costs no pass over the gradients;
    /// after value clipping or zeroing it is measured afresh.</remarks>
    /// <exception cref="ObjectDisposedException">The report was made from host values and disposed before the tensor was asked for.</exception>
    public Tensor PostClipNormTensor => _postClipNormTensor ??= HostTensor.Float64Scalar(_postClipNorm!.Value, _device!, _disposed, this);

    /// <summary>Gets the total p-norm of all gradients after clipping; read on first use, then cached.</summary>
    /// <exception cref="ObjectDisposedException">The report was disposed before the value was read (never for a report made from host values).</exception>
    public double PostClipNorm => _postClipNorm ??= HostRead.Double(PostClipNormTensor);

    /// <summary>Gets the names of the parameters whose gradients were measured, in the order of <see cref="ParameterNormsTensor"/>.</summary>
    public IReadOnlyList<string> ParameterNames { get; }

    /// <summary>
    /// Gets the pre-clip p-norm of each measured gradient (after zeroing under <see cref="NonFiniteGradientPolicy.ZeroNonFinite"/>),
    /// as a float64 vector on the gradients' device (no synchronisation); null unless the clipper's
    /// <see cref="GradientClipper.RecordParameterNorms"/> is on.
    /// </summary>
    public Tensor? ParameterNormsTensor { get; }

    /// <summary>Gets the pre-clip p-norm of each measured gradient; read on first use, then cached.</summary>
    /// <value>A new array on each call, one element per <see cref="ParameterNames"/> entry; empty when they were not measured.</value>
    /// <exception cref="ObjectDisposedException">The report was disposed before the values were read.</exception>
    public double[] ParameterNorms => ParameterNormsTensor is null ? [] : (double[])(_parameterNorms ??= HostRead.Doubles(ParameterNormsTensor)).Clone();

    /// <summary>Gets p of <see cref="TotalNorm"/>.</summary>
    public double NormType { get; }

    /// <summary>Gets what each rule did, in the order the rules ran (empty for <see cref="ClippingMode.None"/> or a skipped step).</summary>
    public IReadOnlyList<GradientClipStage> Stages { get; }

    /// <summary>Gets a 0-dimensional Boolean tensor telling whether any rule changed any gradient (no synchronisation).</summary>
    /// <exception cref="ObjectDisposedException">The report was made from host values and disposed before the tensor was asked for.</exception>
    public Tensor WasClippedTensor => _wasClippedTensor ??= HostTensor.Boolean(_wasClipped!.Value, _device!, _disposed, this);

    /// <summary>Gets whether any rule changed any gradient; read on first use, then cached.</summary>
    /// <exception cref="ObjectDisposedException">The report was disposed before the value was read (never for a report made from host values).</exception>
    public bool WasClipped => _wasClipped ??= HostRead.Boolean(WasClippedTensor);

    /// <summary>
    /// Gets the names of the groups of every stage, concatenated in stage order: <c>(global)</c> for a global-norm
    /// stage, the parameter or layer names for a local-norm stage, nothing for value clipping.
    /// </summary>
    public IReadOnlyList<string> GroupNames => Stages.SelectMany(stage => stage.GroupNames).ToArray();

    /// <summary>
    /// Gets the norm of each group of <see cref="GroupNames"/>, measured by its stage before that stage scaled it
    /// (so a local stage after a global one sees the globally clipped gradients); read on first use.
    /// </summary>
    /// <value>A new array on each call.</value>
    /// <exception cref="ObjectDisposedException">The report was disposed before the values were read.</exception>
    public double[] GroupNorms => Stages.SelectMany(stage => stage.GroupNorms).ToArray();

    /// <summary>Gets the coefficient applied to each group of <see cref="GroupNames"/>, in [0, 1]; read on first use.</summary>
    /// <value>A new array on each call.</value>
    /// <exception cref="ObjectDisposedException">The report was disposed before the values were read.</exception>
    public double[] Coefficients => Stages.SelectMany(stage => stage.Coefficients).ToArray();

    /// <summary>
    /// Gets how many gradient elements were NaN or ±Inf (0 when none were; then nothing was inspected per element).
    /// Under <see cref="NonFiniteGradientPolicy.ZeroNonFinite"/> these are the elements that were set to 0.
    /// </summary>
    public long NonFiniteElementCount { get; }

    /// <summary>Gets the names of the parameters whose gradients held NaN or ±Inf (empty when none did).</summary>
    public IReadOnlyList<string> NonFiniteParameterNames { get; }

    /// <summary>Disposes the tensors the report owns.</summary>
    public void Dispose()
    {
        _disposed = true;
        _totalNormTensor?.Dispose();
        _postClipNormTensor?.Dispose();
        ParameterNormsTensor?.Dispose();
        _wasClippedTensor?.Dispose();
        foreach (var stage in Stages)
        {
            stage.Dispose();
        }
    }
}
