namespace ClipTrainer.Samples;

/// <summary>A sample's command line is wrong; the message names the argument, the value and the fix.</summary>
/// <param name="message">The message shown to the user.</param>
internal sealed class SampleArgumentException(string message) : Exception(message);
