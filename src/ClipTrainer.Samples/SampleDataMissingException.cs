namespace ClipTrainer.Samples;

/// <summary>A data set a sample needs is not on the machine; the message says which package installs it and how.</summary>
/// <param name="message">What is missing and the command that installs it.</param>
public sealed class SampleDataMissingException(string message) : Exception(message);
