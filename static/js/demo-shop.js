// The demo storefront's clicks, reported through the Growth snippet (static/growth.js).
(function () {
  "use strict";
  function ready(fn) {
    if (window.growth) fn(); else window.addEventListener("load", fn);
  }
  ready(function () {
    var product = document.querySelector("[data-product-id]");
    if (product) {
      var props = {
        product_id: product.dataset.productId, name: product.dataset.productName,
        category: product.dataset.category, price: parseFloat(product.dataset.price), currency: "USD"
      };
      window.growth.track("Product Viewed", props);
      document.querySelector("[data-demo-add]").addEventListener("click", function () {
        window.growth.track("Product Added", Object.assign({ quantity: 1 }, props));
        window.growth.flush();
        document.querySelector("[data-demo-added]").hidden = false;
      });
    }
    var form = document.querySelector("[data-demo-signup]");
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var email = form.elements.email.value.trim().toLowerCase();
        window.growth.identify("shop-" + email, { email: email });
        window.growth.track("Newsletter Subscribed", { email: email });
        window.growth.flush();
        form.querySelector("[data-demo-thanks]").hidden = false;
      });
    }
  });
})();
