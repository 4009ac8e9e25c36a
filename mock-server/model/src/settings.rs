//! The deployment settings that change the API's answers (MOR "API Configuration" page, M4
//! MAINTENANCE > Settings > API tab), with the defaults a fresh mock starts from.

use crate::patchable;

patchable! {
    /// Settings of a deployment, as the API Configuration page names them.
    pub struct Settings / SettingsPatch {
        /// "Allow API globally": when off every call answers `API Requests are disabled`.
        api_enabled: bool = true,
        /// "Allow GET API": when off GET calls answer `GET Requests are disabled` (the default, as
        /// the documentation advises for production).
        allow_get: bool = false,
        /// The inverse of "Disable hash checking": when off, `hash` is not required.
        hash_check: bool = true,
        /// "XML API Extension": wraps XML output in an HTML tag (see quirk `xml_extension_wrapper`).
        xml_extension: bool = false,
        /// "API Secret Key" of the admin (resellers have their own, on their user record).
        api_secret: String = "secret".to_string(),
        /// The admin's uniquehash (resellers and users have their own on their user record).
        uniquehash: String = "adm1nun1q".to_string(),
        /// "Allow devices to check balance over HTTP": gates user_balance_get and
        /// user_simple_balance_get (`Feature disabled` when off).
        balance_over_http: bool = true,
        /// "Allow devices to check rate over HTTP": gates rate_get (`Feature disabled` when
        /// off; on in the mock, so rates can be read out of the box).
        rate_over_http: bool = true,
        /// "API allow Payments": gates payment_create.
        api_allow_payments: bool = true,
        /// MOR "API allow Registration": user_register answers `Registration over API is
        /// disabled` when off (on in the mock, so registration works out of the box).
        api_allow_registration: bool = true,
        /// MOR "API Payment Confirmation": an API payment waits for admin confirmation and does not
        /// change the balance until confirmed.
        api_payment_confirmation: bool = false,
        /// M4 "Show Active Calls for Users": simple users see active calls in quickstats_get.
        show_active_calls_for_users: bool = false,
        /// "Allow API Login Redirect": a successful user_login redirects to the main page.
        api_login_redirect: bool = false,
        /// MOR "Allow login by email": user_login also takes the user's e-mail address as `u`
        /// (MOR API user_login, 2021 revisions; the X3 code looks `u` up as a username only).
        allow_login_by_email: bool = false,
        /// MOR "Allow Resellers to use Admin Tariffs".
        resellers_use_admin_tariffs: bool = false,
        /// Whether the statistics backend answers (M4 quickstats_get: `Cannot connect to
        /// Elasticsearch` when off).
        elasticsearch_available: bool = true,
        /// The default system currency; money is answered in it unless a method converts.
        default_currency: String = "USD".to_string(),
    }
}
