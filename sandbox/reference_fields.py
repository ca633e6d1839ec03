"""Every field and edge name Meta's reference documents for the Page and Post nodes.

Facts, not code: the names were read from the ``facebook-business`` 26.0.3 wheel on PyPI
(Meta's generated Python Business SDK; docs/graph-api.md §2, §3, source S15):
``facebook_business/adobjects/page.py`` and ``pagepost.py``, ``class Field`` for the fields and
the ``endpoint='/…'`` of their ``get_*`` methods for the edges. A client that asks for any of
these gets an answer (simulated, plausible or left out, see ``render``); a name outside these
lists is still "Tried accessing nonexisting field".
"""

from __future__ import annotations

PAGE_FIELDS: tuple[str, ...] = (
    "about", "access_token", "ad_campaign", "affiliation", "app_id", "artists_we_like", "attire",
    "available_promo_offer_ids", "awards", "band_interests", "band_members", "best_page", "bio",
    "birthday", "booking_agent", "breaking_news_usage", "built", "business", "can_checkin",
    "can_post", "category", "category_list", "checkins", "company_overview",
    "connected_instagram_account", "connected_page_backed_instagram_account", "contact_address",
    "copyright_attribution_insights", "copyright_whitelisted_ig_partners", "country_page_likes",
    "cover", "culinary_team", "current_location", "delivery_and_pickup_option_info", "description",
    "description_html", "differently_open_offerings", "directed_by", "display_subtext",
    "displayed_message_response_time", "does_viewer_have_page_permission_link_ig", "emails",
    "engagement", "fan_count", "featured_video", "features", "followers_count", "food_styles",
    "founded", "general_info", "general_manager", "genre", "global_brand_page_name",
    "global_brand_root_id", "has_added_app", "has_lead_access",
    "has_transitioned_to_new_page_experience", "has_whatsapp_business_number",
    "has_whatsapp_number", "hometown", "hours", "id", "impressum", "influences",
    "instagram_business_account", "is_always_open", "is_calling_eligible", "is_chain",
    "is_community_page", "is_eligible_for_branded_content",
    "is_eligible_for_disable_connect_ig_btn_for_non_page_admin_am_web",
    "is_messenger_bot_get_started_enabled", "is_messenger_platform_bot", "is_owned",
    "is_permanently_closed", "is_published", "is_unclaimed", "is_verified",
    "is_webhooks_subscribed", "keywords", "leadgen_tos_acceptance_time", "leadgen_tos_accepted",
    "leadgen_tos_accepting_user", "link", "location", "members", "merchant_id",
    "merchant_review_status", "messaging_feature_status", "messenger_ads_default_icebreakers",
    "messenger_ads_default_quick_replies", "messenger_ads_quick_replies_type",
    "mini_shop_storefront", "mission", "mpg", "name", "name_with_location_descriptor", "network",
    "new_like_count", "offer_eligible", "overall_star_rating", "owner_business",
    "page_backed_threads_account_id", "page_token", "parent_page", "parking", "payment_options",
    "personal_info", "personal_interests", "pharma_safety_info", "phone", "pickup_options",
    "place_type", "plot_outline", "preferred_audience", "press_contact", "price_range",
    "priority_hours", "privacy_info_url", "produced_by", "products", "promotion_eligible",
    "promotion_ineligible_reason", "public_transit", "rating_count", "recipient", "record_label",
    "release_date", "restaurant_services", "restaurant_specialties", "schedule", "screenplay_by",
    "season", "single_line_address", "starring", "start_info", "store_code",
    "store_location_descriptor", "store_number", "studio", "supports_donate_button_in_live_video",
    "talking_about_count", "temporary_status", "unread_message_count", "unread_notif_count",
    "unseen_message_count", "user_access_expire_time", "username", "verification_status",
    "voip_info", "website", "were_here_count", "whatsapp_number", "written_by",
)  # fmt: skip

PAGE_EDGES: tuple[str, ...] = (
    "ab_tests", "ads_eligibility", "ads_posts", "agencies", "albums", "ar_experience",
    "assigned_users", "blocked", "businessprojects", "call_to_actions", "canvas_elements",
    "canvases", "chat_plugin", "commerce_merchant_settings", "commerce_orders", "commerce_payouts",
    "commerce_transactions", "conversations", "crosspost_whitelisted_pages",
    "ctx_optimization_eligibility", "custom_labels", "custom_user_settings", "dataset", "events",
    "fantasy_games", "feed", "global_brand_children", "image_copyrights", "indexed_videos",
    "insights", "instagram_accounts", "leadgen_forms", "likes", "live_videos", "locations",
    "media_fingerprints", "message_templates", "messaging_feature_review",
    "messenger_call_permissions", "messenger_call_settings", "messenger_lead_forms",
    "messenger_profile", "notification_message_tokens", "page_backed_instagram_accounts",
    "personas", "photos", "picture", "posts", "product_catalogs", "published_posts", "ratings",
    "roles", "rtb_dynamic_posts", "scheduled_posts", "settings", "shop_setup_status",
    "space_participants", "store_locations", "stories", "subscribed_apps", "tabs", "tagged",
    "thread_owner", "threads", "video_copyright_rules", "video_lists", "video_reels", "videos",
    "visitor_posts", "welcome_message_flows",
)  # fmt: skip

POST_FIELDS: tuple[str, ...] = (
    "actions", "admin_creator", "allowed_advertising_objectives", "application", "backdated_time",
    "call_to_action", "can_reply_privately", "child_attachments", "comments_mirroring_domain",
    "coordinates", "created_time", "event", "expanded_height", "expanded_width", "feed_targeting",
    "from", "full_picture", "height", "icon", "id", "instagram_eligibility", "is_app_share",
    "is_eligible_for_dark_post", "is_eligible_for_promotion", "is_expired", "is_fb_live_videos",
    "is_hidden", "is_inline_created", "is_instagram_eligible", "is_live_clip", "is_popular",
    "is_published", "is_spherical", "message", "message_tags", "multi_share_end_card",
    "multi_share_optimized", "parent_id", "permalink_url", "picture", "place", "privacy",
    "promotable_id", "promotion_status", "properties", "scheduled_publish_time", "shares",
    "status_type", "story", "story_tags", "subscribed", "target", "targeting",
    "timeline_visibility", "updated_time", "via", "video_buying_eligibility", "was_fb_live_videos",
    "width",
)  # fmt: skip

POST_EDGES: tuple[str, ...] = (
    "attachments", "comments", "dynamic_posts", "insights", "likes", "reactions", "sharedposts",
    "sponsor_tags", "to",
)  # fmt: skip

# Page edges that return an error on New Pages Experience Pages (every Page now, §2); the
# sandbox answers them "nonexisting field", as before.
NPE_ERROR_EDGES = frozenset({"likes", "global_brand_children", "tabs", "visitor_posts"})
# /{post}/likes was removed on every version in November 2020 (§3): also an error.
RETIRED_POST_EDGES = frozenset({"likes"})
