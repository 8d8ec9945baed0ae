"""Files: HDF5 recordings (writer, reader, schema), event CSV, block readers for HDF5/WAV/FLAC/
raw/tradb, ground-truth scoring of files, and the live event publisher (PUB JSON).

Public API (imported on first use):
    EventCsvWriter: :mod:`aemon.io.event_csv`
    array_to_events: :mod:`aemon.io.event_csv`
    event_row: :mod:`aemon.io.event_csv`
    events_to_array: :mod:`aemon.io.event_csv`
    read_event_csv: :mod:`aemon.io.event_csv`
    write_event_csv: :mod:`aemon.io.event_csv`
    EventPublisher: :mod:`aemon.io.event_publisher`
    event_message: :mod:`aemon.io.event_publisher`
    EVENT_TABLE_COLUMNS: :mod:`aemon.io.event_table`
    event_table_row: :mod:`aemon.io.event_table`
    write_event_table_csv: :mod:`aemon.io.event_table`
    BlockReader: :mod:`aemon.io.file_readers`
    RawBlocks: :mod:`aemon.io.file_readers`
    RecordingBlocks: :mod:`aemon.io.file_readers`
    SoundFileBlocks: :mod:`aemon.io.file_readers`
    file_kind: :mod:`aemon.io.file_readers`
    open_block_reader: :mod:`aemon.io.file_readers`
    timeline: :mod:`aemon.io.file_readers`
    COMPRESSIONS: :mod:`aemon.io.recording`
    EVENT_COLUMNS: :mod:`aemon.io.recording`
    EVENT_DTYPE: :mod:`aemon.io.recording`
    FORMAT_NAME: :mod:`aemon.io.recording`
    FORMAT_VERSION: :mod:`aemon.io.recording`
    GAP_DTYPE: :mod:`aemon.io.recording`
    RecordingInfo: :mod:`aemon.io.recording`
    RecordingReader: :mod:`aemon.io.recording`
    RecordingWriter: :mod:`aemon.io.recording`
    TRUTH_COLUMNS: :mod:`aemon.io.recording`
    TRUTH_DTYPE: :mod:`aemon.io.recording`
    append_rows: :mod:`aemon.io.schema`
    check_format: :mod:`aemon.io.schema`
    decode_text: :mod:`aemon.io.schema`
    encode_text: :mod:`aemon.io.schema`
    raw_compression_options: :mod:`aemon.io.schema`
    table_compression_options: :mod:`aemon.io.schema`
    to_event_rows: :mod:`aemon.io.schema`
    truth_to_array: :mod:`aemon.io.schema`
    read_truth: :mod:`aemon.io.truth`
    score_event_list: :mod:`aemon.io.truth`

Modules: event_csv, event_publisher, event_table, file_readers, recording, recording_reader,
recording_writer, schema, truth.
"""

from aemon._lazy import lazy_exports

_EXPORTS = {
    "BlockReader": "file_readers",
    "COMPRESSIONS": "recording",
    "EVENT_COLUMNS": "recording",
    "EVENT_DTYPE": "recording",
    "EVENT_TABLE_COLUMNS": "event_table",
    "EventCsvWriter": "event_csv",
    "EventPublisher": "event_publisher",
    "FORMAT_NAME": "recording",
    "FORMAT_VERSION": "recording",
    "GAP_DTYPE": "recording",
    "RawBlocks": "file_readers",
    "RecordingBlocks": "file_readers",
    "RecordingInfo": "recording",
    "RecordingReader": "recording",
    "RecordingWriter": "recording",
    "SoundFileBlocks": "file_readers",
    "TRUTH_COLUMNS": "recording",
    "TRUTH_DTYPE": "recording",
    "append_rows": "schema",
    "array_to_events": "event_csv",
    "check_format": "schema",
    "decode_text": "schema",
    "encode_text": "schema",
    "event_message": "event_publisher",
    "event_row": "event_csv",
    "event_table_row": "event_table",
    "events_to_array": "event_csv",
    "file_kind": "file_readers",
    "open_block_reader": "file_readers",
    "raw_compression_options": "schema",
    "read_event_csv": "event_csv",
    "read_truth": "truth",
    "score_event_list": "truth",
    "table_compression_options": "schema",
    "timeline": "file_readers",
    "to_event_rows": "schema",
    "truth_to_array": "schema",
    "write_event_csv": "event_csv",
    "write_event_table_csv": "event_table",
}

__all__ = [
    "COMPRESSIONS",
    "EVENT_COLUMNS",
    "EVENT_DTYPE",
    "EVENT_TABLE_COLUMNS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "GAP_DTYPE",
    "TRUTH_COLUMNS",
    "TRUTH_DTYPE",
    "BlockReader",
    "EventCsvWriter",
    "EventPublisher",
    "RawBlocks",
    "RecordingBlocks",
    "RecordingInfo",
    "RecordingReader",
    "RecordingWriter",
    "SoundFileBlocks",
    "append_rows",
    "array_to_events",
    "check_format",
    "decode_text",
    "encode_text",
    "event_message",
    "event_row",
    "event_table_row",
    "events_to_array",
    "file_kind",
    "open_block_reader",
    "raw_compression_options",
    "read_event_csv",
    "read_truth",
    "score_event_list",
    "table_compression_options",
    "timeline",
    "to_event_rows",
    "truth_to_array",
    "write_event_csv",
    "write_event_table_csv",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
