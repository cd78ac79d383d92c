using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Scoring;

/// <summary>
/// The lazily scored view that <c>SequenceTransformer.Transform</c> returns: the input's columns plus the model's.
/// Cursors score <see cref="SequenceScorer.BlockSize"/> rows per forward pass.
/// </summary>
/// <remarks>
/// A cursor runs two cursors of the input in step (data views are repeatable: the same columns, no shuffling, give
/// the same rows in the same order): one reads features ahead to score a block, the other serves the current row's
/// pass-through columns. What computes the feature column upstream therefore runs twice; cache the input
/// (<c>mlContext.Data.Cache</c>) when that is expensive.
/// </remarks>
internal sealed class ScoredDataView : IDataView
{
    private readonly IDataView _input;
    private readonly SequenceScorer _scorer;
    private readonly OutputColumns _outputs;
    private readonly string _featureColumnName;
    private readonly ScoredLayout _layout;

    public ScoredDataView(IDataView input, ScoredLayout layout, SequenceScorer scorer, OutputColumns outputs, string featureColumnName)
    {
        _input = input;
        _layout = layout;
        Schema = outputs.Append(layout);
        _scorer = scorer;
        _outputs = outputs;
        _featureColumnName = featureColumnName;
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.ToList();
        // The main cursor serves the requested input columns only; the features are read by the look-ahead cursor.
        var inputColumns = ScoredColumns.PassedThrough(needed, _layout);
        bool scoring = ScoredColumns.NeedsScores(needed, _layout);
        // A second cursor over the same rows reads features ahead, so rows can be scored in blocks while the main
        // cursor still serves the pass-through columns of the current row.
        var lookahead = scoring ? _input.GetRowCursor([_input.Schema[_featureColumnName]]) : null;
        return new Cursor(this, _input.GetRowCursor(inputColumns), lookahead, needed.Select(c => c.Index).ToHashSet());
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly ScoredDataView _parent;
        private readonly DataViewRowCursor _main;
        private readonly DataViewRowCursor? _lookahead;
        private readonly ValueGetter<VBuffer<float>>? _features;
        private readonly HashSet<int> _active;
        private float[] _block = []; // the outputs of the current block, row after row
        // One buffer per block slot, reused block after block: the getter refills a buffer's arrays instead of making new ones.
        private readonly VBuffer<float>[] _rows = new VBuffer<float>[SequenceScorer.BlockSize];
        private int _next;
        private int _blockRows;
        private ArraySegment<float> _current;

        public Cursor(ScoredDataView parent, DataViewRowCursor main, DataViewRowCursor? lookahead, HashSet<int> active)
        {
            _parent = parent;
            _main = main;
            _lookahead = lookahead;
            _features = lookahead?.GetGetter<VBuffer<float>>(parent._input.Schema[parent._featureColumnName]);
            _active = active;
        }

        public override DataViewSchema Schema => _parent.Schema;
        public override long Position => _main.Position;
        public override long Batch => _main.Batch;

        public override bool MoveNext()
        {
            if (!_main.MoveNext()) return false;
            if (_lookahead is null) return true;
            if (_next == _blockRows) ScoreNextBlock();
            var width = _parent._outputs.ModelOutputSize;
            _current = new ArraySegment<float>(_block, _next++ * width, width);
            return true;
        }

        private void ScoreNextBlock()
        {
            var count = 0;
            while (count < SequenceScorer.BlockSize && _lookahead!.MoveNext())
            {
                _features!(ref _rows[count]); // slots are distinct buffers, so rows of one block do not alias
                _parent._scorer.CheckRow(_rows[count], _lookahead.Position, _parent._featureColumnName);
                count++;
            }
            _block = _parent._scorer.Score(new ArraySegment<VBuffer<float>>(_rows, 0, count));
            (_next, _blockRows) = (0, count);
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => _main.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
            ScoredColumns.GetGetter<TValue>(column, _parent._layout, _main, _parent._outputs, () => _current);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _main.Dispose();
                _lookahead?.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
