using Xunit;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ClipTrainer.Tests.Clipping;

/// <summary>Hand-made parameters with hand-set gradients, and ways to read gradients back.</summary>
internal static class Gradients
{
    /// <summary>A float32 parameter of the gradient's shape whose gradient is exactly <paramref name="gradient"/>.</summary>
    public static Parameter With(float[] gradient, params long[] shape)
    {
        shape = shape.Length == 0 ? [gradient.Length] : shape;
        var parameter = new Parameter(zeros(shape), requires_grad: true);
        using var value = tensor(gradient).reshape(shape);
        parameter.grad = value.clone();
        return parameter;
    }

    /// <summary>A parameter that requires a gradient but has none.</summary>
    public static Parameter Without(params long[] shape) => new(zeros(shape.Length == 0 ? [2] : shape), requires_grad: true);

    public static float[] Of(Tensor parameter)
    {
        using var scope = NewDisposeScope();
        var gradient = parameter.grad ?? throw new InvalidOperationException("The parameter has no gradient.");
        return gradient.to(ScalarType.Float32).contiguous().data<float>().ToArray();
    }

    public static (string Name, Parameter Parameter)[] Named(params (string Name, Parameter Parameter)[] parameters) => parameters;

    /// <summary>Clones every gradient of the module, in <c>named_parameters()</c> order (float32 values).</summary>
    public static float[][] Snapshot(nn.Module module) =>
        module.named_parameters().Select(p => Of(p.parameter)).ToArray();

    /// <summary>Writes a snapshot back into the module's gradients.</summary>
    public static void Restore(nn.Module module, float[][] snapshot)
    {
        using var scope = NewDisposeScope();
        var parameters = module.named_parameters().Select(p => p.parameter).ToArray();
        for (var i = 0; i < parameters.Length; i++)
        {
            var gradient = parameters[i].grad!;
            gradient.copy_(tensor(snapshot[i]).reshape(gradient.shape));
        }
    }

    public static void AssertClose(float[] expected, float[] actual, double relativeTolerance, double absoluteTolerance = 0)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var allowed = absoluteTolerance + relativeTolerance * Math.Abs(expected[i]);
            Assert.True(Math.Abs(expected[i] - actual[i]) <= allowed,
                $"Element {i}: expected {expected[i]:R}, got {actual[i]:R} (allowed difference {allowed:R}).");
        }
    }

    public static void AssertClose(double expected, double actual, double relativeTolerance)
    {
        var allowed = relativeTolerance * Math.Abs(expected);
        Assert.True(Math.Abs(expected - actual) <= allowed, $"Expected {expected:R}, got {actual:R} (allowed difference {allowed:R}).");
    }
}
