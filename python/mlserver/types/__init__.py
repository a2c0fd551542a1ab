"""mlserver.types: the V2 dataplane types, pydantic-free (python/README.md says why)."""
from .base import BaseModel, ValidationError
from .dataplane import (Datatype, InferenceErrorResponse, InferenceRequest, InferenceResponse,
                        MetadataModelErrorResponse, MetadataModelResponse, MetadataServerErrorResponse,
                        MetadataServerResponse, MetadataTensor, Parameters, RepositoryIndexRequest,
                        RepositoryIndexResponseItem, RepositoryLoadErrorResponse,
                        RepositoryUnloadErrorResponse, RequestInput, RequestOutput, ResponseOutput,
                        State, TensorData)

RepositoryIndexResponse = list  # a JSON array of RepositoryIndexResponseItem
