using System.Runtime.CompilerServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// Keeps the gradients of a set of parameters in one contiguous buffer: each parameter's <c>.grad</c> is set to a
/// view into it, once per training run, so that clipping them costs one reduction for the global norm, one segmented
/// reduction for per-tensor norms and one multiplication, whatever the number of tensors.
/// </summary>
/// <remarks>
/// <para>
/// Opt-in. Create it once the model is on its device and in its type, typically before training (gradients that
/// already exist are copied in); a <see cref="GradientClipper"/> then detects, on each call, that every gradient it
/// clips is still a view into the buffer (one pointer comparison per gradient it fetches anyway, no extra native
/// call) and uses the fused path; otherwise it falls back to the per-tensor path, with the same results.
/// </para>
/// <para>
/// Why the views survive training (libtorch 2.10, TorchSharp 0.107): autograd's <c>AccumulateGrad</c> adds a new
/// gradient in place (<c>variable_grad += new_grad</c>) whenever a gradient is already defined and no
/// double-backward graph is being built, so <c>backward()</c> writes into the views. TorchSharp's optimizers'
/// <c>zero_grad()</c> call <c>zero_()</c> on each gradient, and <c>Module.zero_grad(set_to_none: false)</c> does too:
/// both keep the views. <c>Module.zero_grad()</c> with its default <c>set_to_none: true</c>, assigning
/// <c>.grad</c>, or <c>backward(create_graph: true)</c> replace them: call <see cref="ZeroGrad"/> instead of
/// <c>zero_grad</c>, or <see cref="Reattach"/> after such a call (clipping stays correct in between, only slower).
/// </para>
/// <para>
/// Layout: every parameter's segment starts at a multiple of <see cref="RowLength"/> elements, and the padding
/// between segments stays 0 (no view covers it; <see cref="ZeroGrad"/> and clipping keep it 0). The buffer viewed as
/// rows of <see cref="RowLength"/> elements is what the norms reduce: float32 row norms (each over at most 1,024
/// elements, so their rounding error stays near 1e-9 relative) combined in float64.
/// </para>
/// <para>
/// All parameters that require a gradient must share one device and one floating-point type. Not thread-safe.
/// Dispose releases this object's handles; the parameters keep their gradients (the views keep the buffer's memory
/// alive until they are replaced).
/// </para>
/// </remarks>
public sealed class ContiguousGradients : IDisposable
{
    private static readonly ConditionalWeakTable<Parameter, ContiguousGradients> Owners = new();

    private const long MaximumMembershipElements = 1 << 20;

    private readonly Parameter[] _parameters;
    private readonly Tensor[] _views;
    private readonly IntPtr[] _viewImplementations;
    private readonly ClipCallGradients _gradients;
    private bool _disposed;

    /// <summary>Sets up the buffer over the parameters of <paramref name="module"/> (<c>named_parameters()</c>).</summary>
    /// <param name="module">The model, already on its device and in its floating-point type.</param>
    /// <exception cref="ArgumentNullException"><paramref name="module"/> is null.</exception>
    /// <exception cref="ArgumentException">The parameters that require a gradient span several devices or types, or none requires one.</exception>
    public ContiguousGradients(nn.Module module)
        : this((module ?? throw new ArgumentNullException(nameof(module))).named_parameters().ToArray())
    {
    }

    /// <summary>Sets up the buffer over the given parameters; those that do not require a gradient are left alone.</summary>
    /// <param name="parameters">The named parameters, in the order the clipper will see them (<c>named_parameters()</c>).</param>
    /// <exception cref="ArgumentNullException"><paramref name="parameters"/> is null.</exception>
    /// <exception cref="ArgumentException">The parameters that require a gradient span several devices or types, or none requires one.</exception>
    public ContiguousGradients(IReadOnlyList<(string Name, Parameter Parameter)> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var selected = parameters.Where(p => p.Parameter is not null && p.Parameter.requires_grad).ToArray();
        if (selected.Length == 0)
        {
            throw new ArgumentException("No parameter requires a gradient, so there is nothing to keep contiguous.", nameof(parameters));
        }

        var first = selected[0].Parameter;
        var mismatch = selected.FirstOrDefault(p =>
            p.Parameter.device_type != first.device_type || p.Parameter.device_index != first.device_index || p.Parameter.dtype != first.dtype);
        if (mismatch.Parameter is not null)
        {
            throw new ArgumentException(
                $"Contiguous gradients need one device and one type, but parameter '{selected[0].Name}' is {first.dtype} on " +
                $"{first.device} and '{mismatch.Name}' is {mismatch.Parameter.dtype} on {mismatch.Parameter.device}.", nameof(parameters));
        }

        if (!first.is_floating_point())
        {
            throw new ArgumentException($"Gradients must be floating point, but the parameters are {first.dtype}.", nameof(parameters));
        }

        _parameters = selected.Select(p => p.Parameter).ToArray();
        ParameterNames = selected.Select(p => p.Name).ToArray();
        var sizes = _parameters.Select(p => p.numel()).ToArray();
        ElementCount = sizes.Sum();
        RowLength = ChooseRowLength(sizes);
        var offsets = new long[sizes.Length];
        long rows = 0;
        var rowOwners = new List<long>();
        for (var i = 0; i < sizes.Length; i++)
        {
            offsets[i] = rows * RowLength;
            var segmentRows = (sizes[i] + RowLength - 1) / RowLength;
            for (var r = 0; r < segmentRows; r++)
            {
                rowOwners.Add(i);
            }

            rows += segmentRows;
        }

        using (no_grad())
        {
            // These tensors live as long as this object, whatever dispose scope is current while it is made.
            Buffer = zeros(rows * RowLength, first.dtype, first.device).DetachFromDisposeScope();
            Rows = Buffer.view(rows, RowLength).DetachFromDisposeScope();
            RowOwners = tensor(rowOwners.ToArray(), device: first.device).DetachFromDisposeScope();

            // Tensors × rows, 1 where a row belongs to a tensor: per-tensor sums of row values in one matrix-vector
            // product, when that matrix is small (else a scatter-add does it).
            if (_parameters.Length * rows <= MaximumMembershipElements)
            {
                var membership = new double[_parameters.Length * rows];
                for (var r = 0; r < rowOwners.Count; r++)
                {
                    membership[rowOwners[r] * rows + r] = 1;
                }

                RowMembership = tensor(membership, [_parameters.Length, rows], ScalarType.Float64, first.device).DetachFromDisposeScope();
            }
            _views = new Tensor[_parameters.Length];
            for (var i = 0; i < _parameters.Length; i++)
            {
                using var segment = Buffer.narrow(0, offsets[i], sizes[i]);
                _views[i] = segment.view(_parameters[i].shape).DetachFromDisposeScope();
            }
        }

        _viewImplementations = _views.Select(TensorIdentity.Of).ToArray();
        _gradients = new ClipCallGradients(_views, this);
        Reattach();
        foreach (var parameter in _parameters)
        {
            Owners.AddOrUpdate(parameter, this);
        }
    }

    /// <summary>Gets the names of the parameters whose gradients live in the buffer, in buffer order.</summary>
    public IReadOnlyList<string> ParameterNames { get; }

    /// <summary>Gets the number of gradient elements (the parameters' total size, without padding).</summary>
    public long ElementCount { get; }

    /// <summary>Gets the row length of the buffer's layout: 64, 256 or 1,024 elements, the largest whose padding stays within 1/8 of <see cref="ElementCount"/>.</summary>
    public long RowLength { get; }

    /// <summary>Gets the gradient views (one per parameter, of its shape), as a list the <see cref="GradientNorms"/> methods recognise and handle with fused calls.</summary>
    public IReadOnlyList<Tensor> Gradients => _gradients;

    /// <summary>Gets whether every parameter's <c>.grad</c> is still its view into the buffer (one handle read per parameter, no computation).</summary>
    /// <exception cref="ObjectDisposedException">The object was disposed.</exception>
    public bool IsAttached
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            for (var i = 0; i < _parameters.Length; i++)
            {
                using var gradient = _parameters[i].grad;
                if (gradient is null || TensorIdentity.Of(gradient) != _viewImplementations[i])
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>
    /// Gets the flat buffer itself: every gradient in <see cref="ParameterNames"/> order, each segment padded to a
    /// multiple of <see cref="RowLength"/> with zeros. Change it only in place (an all-reduce across ranks, a scaling):
    /// the gradients are its views; keep the padding 0 (any sum or scaling does).
    /// </summary>
    public Tensor Buffer { get; }

    internal Tensor Rows { get; }

    internal Tensor RowOwners { get; }

    internal Tensor? RowMembership { get; }

    internal int Count => _parameters.Length;

    /// <summary>
    /// Makes every parameter's <c>.grad</c> its view again where it no longer is (after <c>Module.zero_grad()</c> set
    /// them to none, or after a gradient was assigned): a replaced gradient's values are copied into the view, a
    /// missing one leaves the view's values as they are.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The object was disposed.</exception>
    /// <exception cref="InvalidOperationException">A replaced gradient does not have its parameter's shape.</exception>
    public void Reattach()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (var i = 0; i < _parameters.Length; i++)
        {
            var gradient = _parameters[i].grad;
            if (gradient is not null && TensorIdentity.Of(gradient) == _viewImplementations[i])
            {
                continue;
            }

            if (gradient is not null)
            {
                if (!gradient.shape.SequenceEqual(_views[i].shape))
                {
                    throw new InvalidOperationException(
                        $"The gradient of '{ParameterNames[i]}' has shape [{string.Join(", ", gradient.shape)}], but the parameter has shape [{string.Join(", ", _views[i].shape)}].");
                }

                _views[i].copy_(gradient);
            }

            _parameters[i].grad = _views[i];
        }
    }

    /// <summary>Sets every gradient to 0 in place, with one call for the whole buffer (instead of <c>zero_grad()</c>), and reattaches views that were replaced.</summary>
    /// <exception cref="ObjectDisposedException">The object was disposed.</exception>
    public void ZeroGrad()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using (no_grad())
        {
            Buffer.zero_();
        }

        if (!IsAttached)
        {
            Reattach();
        }
    }

    /// <summary>Releases this object's tensor handles; the parameters keep their gradients.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var parameter in _parameters)
        {
            if (Owners.TryGetValue(parameter, out var owner) && ReferenceEquals(owner, this))
            {
                Owners.Remove(parameter);
            }
        }

        foreach (var view in _views)
        {
            view.Dispose();
        }

        RowOwners.Dispose();
        RowMembership?.Dispose();
        Rows.Dispose();
        Buffer.Dispose();
    }

    /// <summary>
    /// Returns the buffer that holds all of <paramref name="gradients"/>, when they are, in order, exactly the views of
    /// one live <see cref="ContiguousGradients"/> (the gradients of its parameters, read this call); otherwise null.
    /// </summary>
    internal static ContiguousGradients? Holding(IReadOnlyList<Parameter> parameters, IReadOnlyList<Tensor> gradients)
    {
        if (parameters.Count == 0 || !Owners.TryGetValue(parameters[0], out var owner) || owner._disposed || owner.Count != parameters.Count)
        {
            return null;
        }

        for (var i = 0; i < parameters.Count; i++)
        {
            if (!ReferenceEquals(owner._parameters[i], parameters[i]) || TensorIdentity.Of(gradients[i]) != owner._viewImplementations[i])
            {
                return null;
            }
        }

        return owner;
    }

    /// <summary>
    /// The buffer whose views are exactly the gradients of <paramref name="parameters"/> that require a gradient and have
    /// one, in order, or null: <see cref="Holding"/>'s test made without a managed tensor per gradient (each
    /// <c>Parameter.grad</c> makes one, with its finaliser and dispose-scope entry, which a step pays for every
    /// parameter), reading each gradient's implementation through a native handle released at once.
    /// </summary>
    /// <param name="parameters">The clip call's parameters.</param>
    /// <param name="names">Receives the names of the matched parameters, in order (cleared when the answer is null).</param>
    internal static unsafe ContiguousGradients? HoldingViewsOf(IReadOnlyList<(string Name, Parameter Parameter)> parameters, List<string> names)
    {
        ContiguousGradients? owner = null;
        var matched = 0;
        for (var i = 0; i < parameters.Count; i++)
        {
            var parameter = parameters[i].Parameter;
            if (parameter is null || !parameter.requires_grad) continue;
            var handle = THSTensor_grad(parameter.Handle);
            if (handle == IntPtr.Zero) continue; // no gradient: skipped, as the clipper skips it
            if (owner is null && (!Owners.TryGetValue(parameter, out owner) || owner._disposed))
            {
                THSTensor_dispose(handle);
                return null;
            }

            var implementation = *(IntPtr*)handle; // an at::Tensor handle's first word is its TensorImpl (see TensorIdentity)
            THSTensor_dispose(handle);
            GC.KeepAlive(parameter);
            if (matched >= owner!.Count || !ReferenceEquals(owner._parameters[matched], parameter) || implementation != owner._viewImplementations[matched])
            {
                names.Clear();
                return null;
            }

            names.Add(parameters[i].Name);
            matched++;
        }

        if (owner is not null && matched == owner.Count) return owner;
        names.Clear();
        return null;
    }

    /// <summary>This call's gradient list over the buffer's views (a new list: it carries one call's known total).</summary>
    internal IReadOnlyList<Tensor> NewCallGradients() => new ClipCallGradients(_views, this);

    /// <summary>The parameters whose gradients are the views, in order.</summary>
    internal IReadOnlyList<Parameter> Parameters => _parameters;

    // DllImport rather than LibraryImport: the library TorchSharp has already loaded, resolved the same way.
    [System.Runtime.InteropServices.DllImport("LibTorchSharp")]
    private static extern IntPtr THSTensor_grad(IntPtr tensor);

    [System.Runtime.InteropServices.DllImport("LibTorchSharp")]
    private static extern void THSTensor_dispose(IntPtr tensor);

    internal static ContiguousGradients? Of(IReadOnlyList<Tensor> gradients) =>
        gradients is ClipCallGradients { Buffer: { _disposed: false } buffer } ? buffer : null;

    private static long ChooseRowLength(long[] sizes)
    {
        // Longer rows reduce faster (measured: 1,024 beats 64 by 25 % on 12.7M elements); shorter rows waste less
        // padding on models of many small tensors.
        var total = sizes.Sum();
        foreach (var length in new long[] { 1024, 256 })
        {
            var padded = sizes.Sum(s => (s + length - 1) / length * length);
            if (padded - total <= total / 8)
            {
                return length;
            }
        }

        return 64;
    }
}
