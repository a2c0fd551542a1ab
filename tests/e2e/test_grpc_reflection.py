"""Server reflection (grpc.reflection.v1alpha, Debian 12's libgrpc++_reflection) queried by a real
client: stubs generated at build time from tests/e2e/proto/reflection_v1alpha.proto (Debian ships
the library, not the .proto), so grpcurl-style tools can list and describe the services."""
import os
import sys
import unittest

import grpc
from google.protobuf import descriptor_pb2

sys.path.insert(0, os.environ.get("RINGSERVE_REFLECTION_STUBS", ""))
import reflection_v1alpha_pb2 as rpb  # noqa: E402
import reflection_v1alpha_pb2_grpc as rpb_grpc  # noqa: E402

from ringserve_fixture import Server  # noqa: E402


class Reflection(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server(copy_examples=False)
        cls.channel = grpc.insecure_channel(cls.s.grpc_target)
        cls.stub = rpb_grpc.ServerReflectionStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.s.finish()

    def ask(self, **request):
        return list(self.stub.ServerReflectionInfo(iter([rpb.ServerReflectionRequest(**request)])))[0]

    def test_lists_every_service(self):
        names = {s.name for s in self.ask(list_services="").list_services_response.service}
        self.assertEqual(names, {"inference.GRPCInferenceService", "inference.model_repository.ModelRepositoryService",
                                 "grpc.reflection.v1alpha.ServerReflection"})

    def test_describes_the_inference_service(self):
        r = self.ask(file_containing_symbol="inference.GRPCInferenceService")
        files = [descriptor_pb2.FileDescriptorProto.FromString(b)
                 for b in r.file_descriptor_response.file_descriptor_proto]
        dataplane = next(f for f in files if f.package == "inference" and f.service)
        methods = {m.name: (m.client_streaming, m.server_streaming) for m in dataplane.service[0].method}
        self.assertEqual(methods["ModelInfer"], (False, False))
        self.assertEqual(methods["ModelStreamInfer"], (True, True))
        infer = next(m for m in dataplane.message_type if m.name == "ModelInferRequest")
        self.assertEqual({f.name: f.number for f in infer.field}["raw_input_contents"], 7)

    def test_unknown_symbol_is_not_found(self):
        r = self.ask(file_containing_symbol="no.such.Service")
        self.assertEqual(r.error_response.error_code, grpc.StatusCode.NOT_FOUND.value[0])


if __name__ == "__main__":
    unittest.main()
