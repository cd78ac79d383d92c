using ClipTrainer.Clipping;
using ClipTrainer.Data;
using ClipTrainer.Modeling;
using ClipTrainer.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Samples.Tasks;

/// <summary>
/// Row-sequential Fashion-MNIST: each 28 × 28 greyscale image is read as a sequence of 28 rows of 28 pixels, and the
/// model names one of 10 kinds of clothing. The data is Zalando Research's Fashion-MNIST (Xiao, Rasul and Vollgraf,
/// 2017, arXiv:1708.07747; MIT licence) as Debian's <c>dataset-fashion-mnist</c> package installs it: 60,000
/// training and 10,000 test images in gzip-compressed IDX files.
/// </summary>
/// <remarks>
/// The data views are ready for the multiclass trainer: <c>Features</c> is a 784-float vector (row 0's pixels first),
/// each pixel scaled to [0, 1] and then standardized with the mean and standard deviation of the training pixels used;
/// <c>Label</c> is a key of 10 values (class index + 1). Published recurrent results on it (the data set's README,
/// unclipped): GRU+SVM 0.888, with dropout 0.897.
/// </remarks>
/// <param name="directory">The folder holding the four <c>.gz</c> files; by default where the Debian package puts them.</param>
public sealed class FashionRowsTask(string directory = FashionRowsTask.DefaultDirectory)
{
    /// <summary>The task's name on the command line.</summary>
    public const string Name = "fashion-rows";

    /// <summary>Where <c>apt-get install dataset-fashion-mnist</c> puts the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The Debian package that holds the data.</summary>
    public const string Package = "dataset-fashion-mnist";

    /// <summary>The image side: 28 steps of 28 pixels.</summary>
    public const int Side = 28;

    /// <summary>The number of classes.</summary>
    public const int ClassCount = 10;

    /// <summary>The test MicroAccuracy a run must reach to count as good.</summary>
    public const double GoodAccuracy = 0.91;

    /// <summary>The class names in label order (the data set's README).</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    private static readonly string[] FileNames =
        ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];

    /// <summary>Gets the folder the files are read from.</summary>
    public string Directory { get; } = directory;

    /// <summary>Gets where the data comes from, for reports.</summary>
    public string Source =>
        $"Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747), Debian package {Package}, {Directory}";

    /// <summary>Gets the prediction task: multiclass classification.</summary>
    public SequenceTask Task => SequenceTask.MulticlassClassification;

    /// <summary>Gets the metric the task is judged by: ML.NET's MicroAccuracy on the 10,000 test images.</summary>
    public string MetricName => "MicroAccuracy";

    /// <summary>Gets the criterion of a good run, in words.</summary>
    public string GoodCriterion => $"test MicroAccuracy ≥ {GoodAccuracy:F2}";

    /// <summary>Whether a test accuracy meets <see cref="GoodCriterion"/>; higher is better.</summary>
    /// <param name="microAccuracy">The test MicroAccuracy.</param>
    public bool IsGood(double microAccuracy) => microAccuracy >= GoodAccuracy;

    /// <summary>The files this task needs that are not in <see cref="Directory"/> (empty when all are there).</summary>
    public IReadOnlyList<string> MissingFiles() =>
        [.. FileNames.Select(f => Path.Combine(Directory, f)).Where(p => !File.Exists(p))];

    /// <summary>Reads the training and test images into data views for the multiclass trainer.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="trainRows">How many training images to use (a seeded random subset), or null for all 60,000.</param>
    /// <param name="testRows">How many test images to use (a seeded random subset), or null for all 10,000.</param>
    /// <param name="seed">The seed of the subsets.</param>
    /// <returns>The training and the test data.</returns>
    /// <exception cref="SampleDataMissingException">A file is missing; the message names it and the install command.</exception>
    /// <exception cref="InvalidDataException">A file is damaged, or the images and labels do not match.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A row limit is below 1.</exception>
    public (IDataView Train, IDataView Test) LoadData(MLContext mlContext, int? trainRows = null, int? testRows = null, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        if (trainRows is < 1) throw new ArgumentOutOfRangeException(nameof(trainRows), trainRows, $"trainRows must be at least 1 (or null for all), got {trainRows}.");
        if (testRows is < 1) throw new ArgumentOutOfRangeException(nameof(testRows), testRows, $"testRows must be at least 1 (or null for all), got {testRows}.");
        var missing = MissingFiles();
        if (missing.Count > 0)
            throw new SampleDataMissingException(
                $"{Name}: the Fashion-MNIST files are missing ({string.Join(", ", missing)}). Install Debian's {Package} package: sudo apt-get install -y {Package}");

        var (trainImages, trainLabels) = ReadImages(FileNames[0], FileNames[1], trainRows, seed);
        var (testImages, testLabels) = ReadImages(FileNames[2], FileNames[3], testRows, seed + 1);
        var (mean, deviation) = PixelStatistics(trainImages);
        // Lists, so the views know their row counts and every pass reads the same arrays.
        return (mlContext.Data.LoadFromEnumerable(ToRows(trainImages, trainLabels, mean, deviation).ToList()),
                mlContext.Data.LoadFromEnumerable(ToRows(testImages, testLabels, mean, deviation).ToList()));
    }

    /// <summary>
    /// The recipe: trainer options for a clipped GRU on this task (the unclipped run of the same recipe sets
    /// <c>Clipping.Mode = ClippingMode.None</c>). A new object on every call.
    /// </summary>
    /// <remarks>
    /// Chosen on a validation split of the training images (README, "Row-sequential Fashion-MNIST"): a cosine decay to
    /// 1 % of the rate, where the one-cycle schedule's default ends at 90 %, and 20 epochs of batch 256 did most of it.
    /// </remarks>
    public SequenceTrainerOptions CreateOptions() => new()
    {
        InputSize = Side,
        SequenceLength = Side,
        CellType = RecurrentCellType.Gru,
        HiddenSize = 128,
        Pooling = SequencePooling.Max,
        Dropout = 0.25,
        Optimizer = OptimizerKind.AdamW,
        LearningRate = 4e-3,
        WeightDecay = 1e-2,
        Schedule = LearningRateSchedule.Cosine,
        WarmupFraction = 0.05,
        FinalLearningRateRatio = 0.01,
        // 256 rather than 128: half the optimizer steps per epoch, each a larger matrix product, so 20 epochs fit in the time.
        BatchSize = 256,
        MaximumNumberOfEpochs = 20,
        // One thread: on a shared 2-core machine two libtorch threads contend with the other work (see the threads-benchmark command).
        NumberOfThreads = 1,
        Clipping = new GradientClippingOptions { Mode = ClippingMode.GlobalNorm, Threshold = 1.0 },
    };

    /// <summary>Evaluates a fitted model on test data with ML.NET's multiclass evaluator.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="model">The fitted trainer (or a pipeline ending in it).</param>
    /// <param name="test">The test data from <see cref="LoadData"/>.</param>
    /// <returns>The metrics; <see cref="MetricName"/> is <see cref="MulticlassClassificationMetrics.MicroAccuracy"/>.</returns>
    public static MulticlassClassificationMetrics Evaluate(MLContext mlContext, ITransformer model, IDataView test) =>
        mlContext.MulticlassClassification.Evaluate(model.Transform(test));

    private (byte[][] Images, byte[] Labels) ReadImages(string imagesFile, string labelsFile, int? rows, int seed)
    {
        string imagesPath = Path.Combine(Directory, imagesFile), labelsPath = Path.Combine(Directory, labelsFile);
        var (imageDimensions, pixels) = IdxFile.Read(imagesPath);
        var (labelDimensions, labels) = IdxFile.Read(labelsPath);
        if (imageDimensions is not [var count, Side, Side])
            throw new InvalidDataException($"'{imagesPath}' holds dimensions [{string.Join(", ", imageDimensions)}], expected [N, {Side}, {Side}]. Reinstall {Package}.");
        if (labelDimensions is not [var labelCount] || labelCount != count)
            throw new InvalidDataException($"'{labelsPath}' holds dimensions [{string.Join(", ", labelDimensions)}], expected [{count}] (one label per image of '{imagesPath}'). Reinstall {Package}.");
        if (labels.FirstOrDefault(l => l >= ClassCount) is var bad && bad >= ClassCount)
            throw new InvalidDataException($"'{labelsPath}' holds the label {bad}, expected 0 to {ClassCount - 1}. Reinstall {Package}.");

        // A seeded subset keeps the file's order, so a limit of all rows is the file itself.
        var indices = Enumerable.Range(0, count).ToArray();
        if (rows is int limit && limit < count)
        {
            new Random(seed).Shuffle(indices);
            indices = [.. indices[..limit].Order()];
        }
        const int size = Side * Side;
        return ([.. indices.Select(i => pixels[(i * size)..((i + 1) * size)])], [.. indices.Select(i => labels[i])]);
    }

    private static (float Mean, float Deviation) PixelStatistics(byte[][] images)
    {
        double sum = 0, squares = 0, n = (double)images.Length * Side * Side;
        foreach (var image in images)
            foreach (var pixel in image)
            {
                double x = pixel / 255.0;
                sum += x;
                squares += x * x;
            }
        double mean = sum / n;
        return ((float)mean, (float)Math.Sqrt(Math.Max(squares / n - mean * mean, 1e-12)));
    }

    private static IEnumerable<Image> ToRows(byte[][] images, byte[] labels, float mean, float deviation)
    {
        for (int n = 0; n < images.Length; n++)
        {
            var features = new float[Side * Side];
            for (int i = 0; i < features.Length; i++) features[i] = (images[n][i] / 255f - mean) / deviation;
            yield return new Image { Features = features, Label = labels[n] };
        }
    }

    /// <summary>One image as the trainer reads it.</summary>
    private sealed class Image
    {
        [VectorType(Side * Side)]
        public float[] Features { get; set; } = [];

        // LoadFromEnumerable reads a [KeyType] member as the 0-based class index and stores the key value index + 1.
        [KeyType(ClassCount)]
        public uint Label { get; set; }
    }
}
