import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Registry(_message.Message):
    __slots__ = ("entities", "feature_views", "feature_services", "on_demand_feature_views", "data_sources", "stream_feature_views", "projects", "label_views", "registry_schema_version", "version_id", "last_updated")
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    FEATURE_VIEWS_FIELD_NUMBER: _ClassVar[int]
    FEATURE_SERVICES_FIELD_NUMBER: _ClassVar[int]
    ON_DEMAND_FEATURE_VIEWS_FIELD_NUMBER: _ClassVar[int]
    DATA_SOURCES_FIELD_NUMBER: _ClassVar[int]
    STREAM_FEATURE_VIEWS_FIELD_NUMBER: _ClassVar[int]
    PROJECTS_FIELD_NUMBER: _ClassVar[int]
    LABEL_VIEWS_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_UPDATED_FIELD_NUMBER: _ClassVar[int]
    entities: _containers.RepeatedCompositeFieldContainer[Entity]
    feature_views: _containers.RepeatedCompositeFieldContainer[FeatureView]
    feature_services: _containers.RepeatedCompositeFieldContainer[FeatureService]
    on_demand_feature_views: _containers.RepeatedCompositeFieldContainer[OnDemandFeatureView]
    data_sources: _containers.RepeatedCompositeFieldContainer[DataSource]
    stream_feature_views: _containers.RepeatedCompositeFieldContainer[StreamFeatureView]
    projects: _containers.RepeatedCompositeFieldContainer[Project]
    label_views: _containers.RepeatedCompositeFieldContainer[LabelView]
    registry_schema_version: str
    version_id: str
    last_updated: _timestamp_pb2.Timestamp
    def __init__(self, entities: _Optional[_Iterable[_Union[Entity, _Mapping]]] = ..., feature_views: _Optional[_Iterable[_Union[FeatureView, _Mapping]]] = ..., feature_services: _Optional[_Iterable[_Union[FeatureService, _Mapping]]] = ..., on_demand_feature_views: _Optional[_Iterable[_Union[OnDemandFeatureView, _Mapping]]] = ..., data_sources: _Optional[_Iterable[_Union[DataSource, _Mapping]]] = ..., stream_feature_views: _Optional[_Iterable[_Union[StreamFeatureView, _Mapping]]] = ..., projects: _Optional[_Iterable[_Union[Project, _Mapping]]] = ..., label_views: _Optional[_Iterable[_Union[LabelView, _Mapping]]] = ..., registry_schema_version: _Optional[str] = ..., version_id: _Optional[str] = ..., last_updated: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Project(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: ProjectSpec
    def __init__(self, spec: _Optional[_Union[ProjectSpec, _Mapping]] = ...) -> None: ...

class ProjectSpec(_message.Message):
    __slots__ = ("name", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class Entity(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: EntitySpec
    def __init__(self, spec: _Optional[_Union[EntitySpec, _Mapping]] = ...) -> None: ...

class EntitySpec(_message.Message):
    __slots__ = ("name", "value_type", "description", "join_key", "tags", "project", "owner")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    JOIN_KEY_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    name: str
    value_type: int
    description: str
    join_key: str
    tags: _containers.ScalarMap[str, str]
    project: str
    owner: str
    def __init__(self, name: _Optional[str] = ..., value_type: _Optional[int] = ..., description: _Optional[str] = ..., join_key: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., project: _Optional[str] = ..., owner: _Optional[str] = ...) -> None: ...

class FeatureSpec(_message.Message):
    __slots__ = ("name", "value_type", "tags", "description")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    value_type: int
    tags: _containers.ScalarMap[str, str]
    description: str
    def __init__(self, name: _Optional[str] = ..., value_type: _Optional[int] = ..., tags: _Optional[_Mapping[str, str]] = ..., description: _Optional[str] = ...) -> None: ...

class FeatureView(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: FeatureViewSpec
    def __init__(self, spec: _Optional[_Union[FeatureViewSpec, _Mapping]] = ...) -> None: ...

class FeatureViewSpec(_message.Message):
    __slots__ = ("name", "project", "entities", "features", "tags", "ttl", "batch_source", "online", "stream_source", "description", "owner", "entity_columns", "offline")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    BATCH_SOURCE_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    STREAM_SOURCE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    ENTITY_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    OFFLINE_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    entities: _containers.RepeatedScalarFieldContainer[str]
    features: _containers.RepeatedCompositeFieldContainer[FeatureSpec]
    tags: _containers.ScalarMap[str, str]
    ttl: _duration_pb2.Duration
    batch_source: DataSource
    online: bool
    stream_source: DataSource
    description: str
    owner: str
    entity_columns: _containers.RepeatedCompositeFieldContainer[FeatureSpec]
    offline: bool
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ..., entities: _Optional[_Iterable[str]] = ..., features: _Optional[_Iterable[_Union[FeatureSpec, _Mapping]]] = ..., tags: _Optional[_Mapping[str, str]] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., batch_source: _Optional[_Union[DataSource, _Mapping]] = ..., online: _Optional[bool] = ..., stream_source: _Optional[_Union[DataSource, _Mapping]] = ..., description: _Optional[str] = ..., owner: _Optional[str] = ..., entity_columns: _Optional[_Iterable[_Union[FeatureSpec, _Mapping]]] = ..., offline: _Optional[bool] = ...) -> None: ...

class StreamFeatureView(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: StreamFeatureViewSpec
    def __init__(self, spec: _Optional[_Union[StreamFeatureViewSpec, _Mapping]] = ...) -> None: ...

class StreamFeatureViewSpec(_message.Message):
    __slots__ = ("name", "project", "entities", "features", "description", "tags", "owner", "ttl", "batch_source", "stream_source")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    BATCH_SOURCE_FIELD_NUMBER: _ClassVar[int]
    STREAM_SOURCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    entities: _containers.RepeatedScalarFieldContainer[str]
    features: _containers.RepeatedCompositeFieldContainer[FeatureSpec]
    description: str
    tags: _containers.ScalarMap[str, str]
    owner: str
    ttl: _duration_pb2.Duration
    batch_source: DataSource
    stream_source: DataSource
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ..., entities: _Optional[_Iterable[str]] = ..., features: _Optional[_Iterable[_Union[FeatureSpec, _Mapping]]] = ..., description: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., owner: _Optional[str] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., batch_source: _Optional[_Union[DataSource, _Mapping]] = ..., stream_source: _Optional[_Union[DataSource, _Mapping]] = ...) -> None: ...

class OnDemandFeatureView(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: OnDemandFeatureViewSpec
    def __init__(self, spec: _Optional[_Union[OnDemandFeatureViewSpec, _Mapping]] = ...) -> None: ...

class OnDemandFeatureViewSpec(_message.Message):
    __slots__ = ("name", "project", "features", "sources", "user_defined_function", "feature_transformation", "description", "tags", "owner", "mode", "write_to_online_store")
    class SourcesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: OnDemandSource
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[OnDemandSource, _Mapping]] = ...) -> None: ...
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    USER_DEFINED_FUNCTION_FIELD_NUMBER: _ClassVar[int]
    FEATURE_TRANSFORMATION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    WRITE_TO_ONLINE_STORE_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    features: _containers.RepeatedCompositeFieldContainer[FeatureSpec]
    sources: _containers.MessageMap[str, OnDemandSource]
    user_defined_function: UserDefinedFunction
    feature_transformation: FeatureTransformation
    description: str
    tags: _containers.ScalarMap[str, str]
    owner: str
    mode: str
    write_to_online_store: bool
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ..., features: _Optional[_Iterable[_Union[FeatureSpec, _Mapping]]] = ..., sources: _Optional[_Mapping[str, OnDemandSource]] = ..., user_defined_function: _Optional[_Union[UserDefinedFunction, _Mapping]] = ..., feature_transformation: _Optional[_Union[FeatureTransformation, _Mapping]] = ..., description: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., owner: _Optional[str] = ..., mode: _Optional[str] = ..., write_to_online_store: _Optional[bool] = ...) -> None: ...

class OnDemandSource(_message.Message):
    __slots__ = ("feature_view", "feature_view_projection", "request_data_source")
    FEATURE_VIEW_FIELD_NUMBER: _ClassVar[int]
    FEATURE_VIEW_PROJECTION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_DATA_SOURCE_FIELD_NUMBER: _ClassVar[int]
    feature_view: FeatureView
    feature_view_projection: FeatureViewProjection
    request_data_source: DataSource
    def __init__(self, feature_view: _Optional[_Union[FeatureView, _Mapping]] = ..., feature_view_projection: _Optional[_Union[FeatureViewProjection, _Mapping]] = ..., request_data_source: _Optional[_Union[DataSource, _Mapping]] = ...) -> None: ...

class UserDefinedFunction(_message.Message):
    __slots__ = ("name", "body", "body_text", "mode")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    BODY_TEXT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    name: str
    body: bytes
    body_text: str
    mode: str
    def __init__(self, name: _Optional[str] = ..., body: _Optional[bytes] = ..., body_text: _Optional[str] = ..., mode: _Optional[str] = ...) -> None: ...

class FeatureTransformation(_message.Message):
    __slots__ = ("user_defined_function",)
    USER_DEFINED_FUNCTION_FIELD_NUMBER: _ClassVar[int]
    user_defined_function: UserDefinedFunction
    def __init__(self, user_defined_function: _Optional[_Union[UserDefinedFunction, _Mapping]] = ...) -> None: ...

class LabelView(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: LabelViewSpec
    def __init__(self, spec: _Optional[_Union[LabelViewSpec, _Mapping]] = ...) -> None: ...

class LabelViewSpec(_message.Message):
    __slots__ = ("name", "project")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class DataSource(_message.Message):
    __slots__ = ("name", "project", "description", "tags", "owner", "type", "field_mapping", "timestamp_field", "date_partition_column", "created_timestamp_column", "data_source_class_type", "batch_source", "file_options", "request_data_options")
    class SourceType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        INVALID: _ClassVar[DataSource.SourceType]
        BATCH_FILE: _ClassVar[DataSource.SourceType]
        BATCH_BIGQUERY: _ClassVar[DataSource.SourceType]
        STREAM_KAFKA: _ClassVar[DataSource.SourceType]
        STREAM_KINESIS: _ClassVar[DataSource.SourceType]
        BATCH_REDSHIFT: _ClassVar[DataSource.SourceType]
        CUSTOM_SOURCE: _ClassVar[DataSource.SourceType]
        REQUEST_SOURCE: _ClassVar[DataSource.SourceType]
        BATCH_SNOWFLAKE: _ClassVar[DataSource.SourceType]
        PUSH_SOURCE: _ClassVar[DataSource.SourceType]
        BATCH_TRINO: _ClassVar[DataSource.SourceType]
        BATCH_SPARK: _ClassVar[DataSource.SourceType]
        BATCH_ATHENA: _ClassVar[DataSource.SourceType]
        BATCH_ICEBERG: _ClassVar[DataSource.SourceType]
    INVALID: DataSource.SourceType
    BATCH_FILE: DataSource.SourceType
    BATCH_BIGQUERY: DataSource.SourceType
    STREAM_KAFKA: DataSource.SourceType
    STREAM_KINESIS: DataSource.SourceType
    BATCH_REDSHIFT: DataSource.SourceType
    CUSTOM_SOURCE: DataSource.SourceType
    REQUEST_SOURCE: DataSource.SourceType
    BATCH_SNOWFLAKE: DataSource.SourceType
    PUSH_SOURCE: DataSource.SourceType
    BATCH_TRINO: DataSource.SourceType
    BATCH_SPARK: DataSource.SourceType
    BATCH_ATHENA: DataSource.SourceType
    BATCH_ICEBERG: DataSource.SourceType
    class FileOptions(_message.Message):
        __slots__ = ("file_format", "uri", "s3_endpoint_override")
        FILE_FORMAT_FIELD_NUMBER: _ClassVar[int]
        URI_FIELD_NUMBER: _ClassVar[int]
        S3_ENDPOINT_OVERRIDE_FIELD_NUMBER: _ClassVar[int]
        file_format: bytes
        uri: str
        s3_endpoint_override: str
        def __init__(self, file_format: _Optional[bytes] = ..., uri: _Optional[str] = ..., s3_endpoint_override: _Optional[str] = ...) -> None: ...
    class RequestDataOptions(_message.Message):
        __slots__ = ("schema",)
        SCHEMA_FIELD_NUMBER: _ClassVar[int]
        schema: _containers.RepeatedCompositeFieldContainer[FeatureSpec]
        def __init__(self, schema: _Optional[_Iterable[_Union[FeatureSpec, _Mapping]]] = ...) -> None: ...
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class FieldMappingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    FIELD_MAPPING_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_FIELD_NUMBER: _ClassVar[int]
    DATE_PARTITION_COLUMN_FIELD_NUMBER: _ClassVar[int]
    CREATED_TIMESTAMP_COLUMN_FIELD_NUMBER: _ClassVar[int]
    DATA_SOURCE_CLASS_TYPE_FIELD_NUMBER: _ClassVar[int]
    BATCH_SOURCE_FIELD_NUMBER: _ClassVar[int]
    FILE_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_DATA_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    description: str
    tags: _containers.ScalarMap[str, str]
    owner: str
    type: DataSource.SourceType
    field_mapping: _containers.ScalarMap[str, str]
    timestamp_field: str
    date_partition_column: str
    created_timestamp_column: str
    data_source_class_type: str
    batch_source: DataSource
    file_options: DataSource.FileOptions
    request_data_options: DataSource.RequestDataOptions
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., owner: _Optional[str] = ..., type: _Optional[_Union[DataSource.SourceType, str]] = ..., field_mapping: _Optional[_Mapping[str, str]] = ..., timestamp_field: _Optional[str] = ..., date_partition_column: _Optional[str] = ..., created_timestamp_column: _Optional[str] = ..., data_source_class_type: _Optional[str] = ..., batch_source: _Optional[_Union[DataSource, _Mapping]] = ..., file_options: _Optional[_Union[DataSource.FileOptions, _Mapping]] = ..., request_data_options: _Optional[_Union[DataSource.RequestDataOptions, _Mapping]] = ...) -> None: ...

class FeatureViewProjection(_message.Message):
    __slots__ = ("feature_view_name", "feature_columns", "feature_view_name_alias", "join_key_map")
    class JoinKeyMapEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FEATURE_VIEW_NAME_FIELD_NUMBER: _ClassVar[int]
    FEATURE_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    FEATURE_VIEW_NAME_ALIAS_FIELD_NUMBER: _ClassVar[int]
    JOIN_KEY_MAP_FIELD_NUMBER: _ClassVar[int]
    feature_view_name: str
    feature_columns: _containers.RepeatedCompositeFieldContainer[FeatureSpec]
    feature_view_name_alias: str
    join_key_map: _containers.ScalarMap[str, str]
    def __init__(self, feature_view_name: _Optional[str] = ..., feature_columns: _Optional[_Iterable[_Union[FeatureSpec, _Mapping]]] = ..., feature_view_name_alias: _Optional[str] = ..., join_key_map: _Optional[_Mapping[str, str]] = ...) -> None: ...

class FeatureService(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: FeatureServiceSpec
    def __init__(self, spec: _Optional[_Union[FeatureServiceSpec, _Mapping]] = ...) -> None: ...

class FeatureServiceSpec(_message.Message):
    __slots__ = ("name", "project", "features", "tags", "description", "owner", "precompute_online")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    PRECOMPUTE_ONLINE_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    features: _containers.RepeatedCompositeFieldContainer[FeatureViewProjection]
    tags: _containers.ScalarMap[str, str]
    description: str
    owner: str
    precompute_online: bool
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ..., features: _Optional[_Iterable[_Union[FeatureViewProjection, _Mapping]]] = ..., tags: _Optional[_Mapping[str, str]] = ..., description: _Optional[str] = ..., owner: _Optional[str] = ..., precompute_online: _Optional[bool] = ...) -> None: ...
