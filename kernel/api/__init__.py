"""gRPC servicers: authentication, validation and mapping between protobuf and the domain. No SQL here."""
