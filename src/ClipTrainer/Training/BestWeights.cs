using static TorchSharp.torch;

namespace ClipTrainer.Training;

/// <summary>Keeps a copy of the weights of the epoch with the lowest validation loss, for early stopping.</summary>
internal sealed class BestWeights(nn.Module model) : IDisposable
{
    private Dictionary<string, Tensor>? _snapshot;

    public double BestLoss { get; private set; } = double.PositiveInfinity;

    public int BestEpoch { get; private set; }

    /// <summary>Records the epoch if its loss is the lowest so far; returns whether it was.</summary>
    public bool Offer(int epoch, double validationLoss)
    {
        if (!(validationLoss < BestLoss)) return false;
        BestLoss = validationLoss;
        BestEpoch = epoch;
        DisposeSnapshot();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _snapshot = model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone().DetachFromDisposeScope());
        return true;
    }

    /// <summary>
    /// Loads the best weights back into the model and returns their epoch; returns <paramref name="lastEpoch"/>, and
    /// leaves the model as it is, when no epoch had a finite validation loss.
    /// </summary>
    public int Restore(int lastEpoch)
    {
        if (_snapshot is null) return lastEpoch;
        model.load_state_dict(_snapshot);
        return BestEpoch;
    }

    /// <summary>The best epoch's weights (state_dict names), or null before any; what a checkpoint saves.</summary>
    public IReadOnlyDictionary<string, Tensor>? Snapshot => _snapshot;

    /// <summary>Takes the bookkeeping a checkpoint saved; the tensors are copied onto <paramref name="device"/>.</summary>
    public void Load(int bestEpoch, double bestLoss, IReadOnlyDictionary<string, Tensor>? snapshot, Device device)
    {
        DisposeSnapshot();
        BestEpoch = bestEpoch;
        BestLoss = bestLoss;
        _snapshot = snapshot?.ToDictionary(p => p.Key, p => p.Value.to(device, copy: true).DetachFromDisposeScope());
    }

    public void Dispose() => DisposeSnapshot();

    private void DisposeSnapshot()
    {
        if (_snapshot is null) return;
        foreach (var tensor in _snapshot.Values) tensor.Dispose();
        _snapshot = null;
    }
}
