using Microsoft.ML;
using Microsoft.ML.Data;

namespace ClipTrainer.Scoring;

/// <summary>Scores one row at a time, for <c>PredictionEngine</c>.</summary>
internal sealed class SequenceRowMapper : IRowToRowMapper
{
    private readonly SequenceScorer _scorer;
    private readonly OutputColumns _outputs;
    private readonly string _featureColumnName;
    private readonly ScoredLayout _layout;

    public SequenceRowMapper(ScoredLayout layout, SequenceScorer scorer, OutputColumns outputs, string featureColumnName)
    {
        _layout = layout;
        InputSchema = layout.Input;
        OutputSchema = outputs.Append(layout);
        _scorer = scorer;
        _outputs = outputs;
        _featureColumnName = featureColumnName;
    }

    public DataViewSchema InputSchema { get; }

    public DataViewSchema OutputSchema { get; }

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns) =>
        ScoredColumns.Dependencies(dependingColumns, _layout, _featureColumnName);

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns) =>
        new Row(this, input, activeColumns.Select(c => c.Index).ToHashSet());

    private sealed class Row : DataViewRow
    {
        private readonly SequenceRowMapper _parent;
        private readonly DataViewRow _input;
        private readonly HashSet<int> _active;
        private readonly ValueGetter<VBuffer<float>>? _features;
        private long _scoredPosition = -1;
        private ArraySegment<float> _current;
        private VBuffer<float> _row;

        public Row(SequenceRowMapper parent, DataViewRow input, HashSet<int> active)
        {
            _parent = parent;
            _input = input;
            _active = active;
            if (active.Any(i => !parent._layout.IsInput(i, out _)))
                _features = input.GetGetter<VBuffer<float>>(parent.InputSchema[parent._featureColumnName]);
        }

        public override DataViewSchema Schema => _parent.OutputSchema;
        public override long Position => _input.Position;
        public override long Batch => _input.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
            ScoredColumns.GetGetter<TValue>(column, _parent._layout, _input, _parent._outputs, Current);

        private ArraySegment<float> Current()
        {
            // PredictionEngine reuses one row object and may not advance Position; rescore on every new position and
            // whenever the position is unknown (-1).
            if (_input.Position != _scoredPosition || _input.Position < 0)
            {
                _features!(ref _row);
                _parent._scorer.CheckRow(_row, _input.Position, _parent._featureColumnName);
                _current = _parent._scorer.Score([_row]);
                _scoredPosition = _input.Position;
            }
            return _current;
        }
    }
}
