using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace ClipTrainer.Clipping;

/// <summary>
/// <c>torch.linalg.vector_norm</c> with the order's native scalar owned by the call.
/// </summary>
/// <remarks>
/// TorchSharp 0.107's <c>linalg.vector_norm(Tensor, double, …)</c> passes <c>ord.ToScalar().Handle</c> and keeps no
/// reference to the <c>Scalar</c>, so a garbage collection during the native call may run its finalizer and free the
/// scalar libtorch is about to read (seen here as a rare "Expected false to be true" from <c>Scalar::toDouble</c>; the
/// race is dotnet/TorchSharp#1434 and #1496). There is no overload taking a <c>Scalar</c> and <c>Scalar.Handle</c> is
/// internal, so the scalar is made and freed here, around the same native entry point TorchSharp calls.
/// </remarks>
internal static class LinalgVectorNorm
{
    private const string Library = "LibTorchSharp";

    /// <summary>The p-norm of <paramref name="input"/> over all elements, or over <paramref name="dimensions"/>.</summary>
    public static Tensor Compute(Tensor input, double ord = 2, long[]? dimensions = null, bool keepDimensions = false)
    {
        var scalar = THSTorch_float64_to_scalar(ord);
        try
        {
            var result = THSLinalg_vector_norm(input.Handle, scalar, dimensions, dimensions?.Length ?? 0, keepDimensions);
            if (result == IntPtr.Zero)
            {
                TorchSharp.torch.CheckForErrors();
            }

            GC.KeepAlive(input);
            return Tensor.UnsafeCreateTensor(result);
        }
        finally
        {
            THSTorch_dispose_scalar(scalar);
        }
    }

    // DllImport rather than LibraryImport: the same library TorchSharp has already loaded, resolved the same way.
    [DllImport(Library)]
    private static extern IntPtr THSTorch_float64_to_scalar(double value);

    [DllImport(Library)]
    private static extern void THSTorch_dispose_scalar(IntPtr handle);

    [DllImport(Library)]
    private static extern IntPtr THSLinalg_vector_norm(IntPtr tensor, IntPtr ord, long[]? dimensions, int dimensionCount, [MarshalAs(UnmanagedType.U1)] bool keepDimensions);
}
