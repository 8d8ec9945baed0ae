"""Files: HDF5 recordings (writer, reader, schema), event CSV, block readers for HDF5/WAV/FLAC/
raw/tradb, ground-truth scoring of files, and the live event publisher (PUB JSON).

Public API (imported on first use):
    EventCsvWriter: :mod:`aemon.io.event_csv`
    array_to_events: :mod:`aemon.io.event_csv`
    event_row: :mod:`aemon.io.event_csv`
    events_to_array: :mod:`aemon.io.event_csv`
    read_event_csv: :mod:`aemon.io.event_csv`
    write_event_csv: :mod:`aemon.io.event_csv`
    DisplayPublisher: :mod:`aemon.io.display_publisher`
    decode_display_frames: :mod:`aemon.io.display_publisher`
    EventPublisher: :mod:`aemon.io.event_publisher`
    event_message: :mod:`aemon.io.event_publisher`
    LOCATED_EVENT_COLUMNS: :mod:`aemon.io.located_events`
    located_event_row: :mod:`aemon.io.located_events`
    write_located_events_csv: :mod:`aemon.io.located_events`
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
    EventTableInfo: :mod:`aemon.io.event_tables`
    EventTableWriter: :mod:`aemon.io.event_tables`
    LIVE_TABLE: :mod:`aemon.io.event_tables`
    list_event_tables: :mod:`aemon.io.event_tables`
    open_tables: :mod:`aemon.io.event_tables`
    table_dataset: :mod:`aemon.io.event_tables`
    atomic_output: :mod:`aemon.io.atomic_output`
    check_output: :mod:`aemon.io.atomic_output`
    ImportSummary: :mod:`aemon.io.import_`
    import_file: :mod:`aemon.io.import_`
    EventFilter: :mod:`aemon.io.recording_export`
    ExportSummary: :mod:`aemon.io.recording_export`
    export_csv: :mod:`aemon.io.recording_export`
    export_vallen: :mod:`aemon.io.recording_export`
    export_wav: :mod:`aemon.io.recording_export`
    TransientRecord: :mod:`aemon.io.transients`
    TransientLayout: :mod:`aemon.io.transients`
    VallenHit: :mod:`aemon.io.vallen`
    VallenWriter: :mod:`aemon.io.vallen`
    iter_tradb_records: :mod:`aemon.io.vallen`
    tradb_layout: :mod:`aemon.io.vallen`
    iter_pridb_hits: :mod:`aemon.io.vallen`
    read_dta: :mod:`aemon.io.mistras`

Modules: atomic_output, display_publisher, event_csv, event_publisher, event_tables,
file_readers, import_, located_events, mistras, recording, recording_export, recording_reader,
recording_writer, schema, transients, truth, vallen.
"""

from aemon._lazy import lazy_exports

_EXPORTS = {
    "EventTableInfo": "event_tables",
    "EventTableWriter": "event_tables",
    "LIVE_TABLE": "event_tables",
    "list_event_tables": "event_tables",
    "open_tables": "event_tables",
    "table_dataset": "event_tables",
    "atomic_output": "atomic_output",
    "check_output": "atomic_output",
    "ImportSummary": "import_",
    "import_file": "import_",
    "EventFilter": "recording_export",
    "ExportSummary": "recording_export",
    "export_csv": "recording_export",
    "export_vallen": "recording_export",
    "export_wav": "recording_export",
    "TransientRecord": "transients",
    "TransientLayout": "transients",
    "VallenHit": "vallen",
    "VallenWriter": "vallen",
    "iter_tradb_records": "vallen",
    "tradb_layout": "vallen",
    "iter_pridb_hits": "vallen",
    "read_dta": "mistras",
    "BlockReader": "file_readers",
    "COMPRESSIONS": "recording",
    "EVENT_COLUMNS": "recording",
    "EVENT_DTYPE": "recording",
    "DisplayPublisher": "display_publisher",
    "LOCATED_EVENT_COLUMNS": "located_events",
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
    "decode_display_frames": "display_publisher",
    "decode_text": "schema",
    "encode_text": "schema",
    "event_message": "event_publisher",
    "event_row": "event_csv",
    "located_event_row": "located_events",
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
    "write_located_events_csv": "located_events",
}

__all__ = [
    "COMPRESSIONS",
    "EVENT_COLUMNS",
    "EVENT_DTYPE",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "GAP_DTYPE",
    "LIVE_TABLE",
    "LOCATED_EVENT_COLUMNS",
    "TRUTH_COLUMNS",
    "TRUTH_DTYPE",
    "BlockReader",
    "DisplayPublisher",
    "EventCsvWriter",
    "EventFilter",
    "EventPublisher",
    "EventTableInfo",
    "EventTableWriter",
    "ExportSummary",
    "ImportSummary",
    "RawBlocks",
    "RecordingBlocks",
    "RecordingInfo",
    "RecordingReader",
    "RecordingWriter",
    "SoundFileBlocks",
    "TransientLayout",
    "TransientRecord",
    "VallenHit",
    "VallenWriter",
    "append_rows",
    "array_to_events",
    "atomic_output",
    "check_format",
    "check_output",
    "decode_display_frames",
    "decode_text",
    "encode_text",
    "event_message",
    "event_row",
    "events_to_array",
    "export_csv",
    "export_vallen",
    "export_wav",
    "file_kind",
    "import_file",
    "iter_pridb_hits",
    "iter_tradb_records",
    "list_event_tables",
    "located_event_row",
    "open_block_reader",
    "open_tables",
    "raw_compression_options",
    "read_dta",
    "read_event_csv",
    "read_truth",
    "score_event_list",
    "table_compression_options",
    "table_dataset",
    "timeline",
    "to_event_rows",
    "tradb_layout",
    "truth_to_array",
    "write_event_csv",
    "write_located_events_csv",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
