using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// Tells whether two TorchSharp handles refer to the same libtorch tensor, without a native call.
/// </summary>
/// <remarks>
/// Why this exists: <c>Parameter.grad</c> returns a new handle each time (a heap copy of the <c>at::Tensor</c>), so
/// handles cannot be compared, and TorchSharp 0.107 offers no identity test (its <c>storage&lt;T&gt;().data_ptr()</c>
/// costs 5 µs per tensor, measured). An <c>at::Tensor</c> holds exactly one field, the
/// <c>intrusive_ptr&lt;TensorImpl&gt;</c> (libtorch's <c>TensorBase</c>, unchanged since 1.x), so the first pointer
/// behind a handle identifies the tensor; it is read, never written. <see cref="ContiguousGradients"/> uses it to
/// check that a gradient is still its view (0.4 µs per parameter including the <c>.grad</c> fetch).
/// </remarks>
internal static class TensorIdentity
{
    public static unsafe IntPtr Of(Tensor tensor)
    {
        ObjectDisposedException.ThrowIf(tensor.IsInvalid, tensor);
        return *(IntPtr*)tensor.Handle;
    }
}
