"""Android/iOS/web push through the FCM HTTP v1 API with OAuth2 service-account tokens."""
